// The FeatBit vocabulary a generated workload draws from (projects, envs, flags, segments, tags,
// actions by resource type), and the resource names and requests built from it.
#pragma once

#include "workload.hpp"

#include <gatehouse/engine/compiled_policy.hpp>
#include <gatehouse/policy/resource_name.hpp>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::bench {

/// The names a workload draws from. Projects grow with the statement count (20 at most 1,000
/// statements, one per 50 beyond) so that large sets spread over more projects, as they would
/// across a large organization.
class vocabulary {
 public:
  explicit vocabulary(std::size_t statements);

  std::string project(rng& r) const;
  static std::string project_family_glob(rng& r);
  static std::string flag_family_glob(rng& r);
  static std::string segment_family_glob(rng& r);
  static std::string env(rng& r);
  static std::string flag(rng& r);
  static std::string segment(rng& r);
  static std::string tag(rng& r);

  /// A concrete key for a segment of `type`, as a request would carry it.
  std::string key(rng& r, std::string_view type) const;

 private:
  std::size_t projects_;
};

struct weighted_type {
  std::string_view type;
  std::size_t weight;
};

std::string_view pick_weighted(rng& r, std::span<const weighted_type> table);

/// The catalogue's actions on resources of `type`.
const std::vector<std::string_view>& actions_of(std::string_view type);
/// 1 to `most` distinct actions of `type`.
std::vector<std::string> some_actions(rng& r, std::string_view type, std::size_t most);
/// A non-empty subset of `from`, in its order.
std::vector<std::string> subset(rng& r, const std::vector<std::string>& from);

/// "flag" of "flag/checkout-3".
std::string_view path_type(std::string_view path);
std::string_view type_of(const policy::segment_pattern& s);
std::string_view key_of(const policy::segment_pattern& s);
policy::segment_pattern seg(std::string_view type, std::string_view key,
                            std::vector<std::string> segment_tags = {});
bool is_taggable(std::string_view type);
/// The child segment types under `type` in FeatBit's resource tree (empty: none).
std::string_view child_type(rng& r, std::string_view type);

/// Replaces each `*` of a key glob with something a real name would have there.
std::string fill_key_glob(rng& r, const vocabulary& v, std::string_view type,
                          std::string_view glob);
std::string fill_tag_glob(rng& r, std::string_view glob);

/// The statement's resource texts, from its parsed patterns.
void set_resources(generated_statement& g);

/// One segment of a concrete resource name, as a request carries it.
struct concrete_segment {
  std::string path;
  std::vector<std::string> tags;
};

std::string render(const std::vector<concrete_segment>& segments);
void add_random_tags(rng& r, concrete_segment& s);

/// A request drawn from the whole vocabulary; most of them match no statement.
engine::request vocabulary_request(rng& r, const vocabulary& v);

}  // namespace gatehouse::bench
