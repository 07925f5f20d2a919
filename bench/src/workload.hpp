// Synthetic FeatBit workloads: statement sets shaped like real member policies (projects, envs,
// flags, segments, tags; ~10% deny) and requests that hit and miss them, plus containment pairs.
#pragma once

#include <gatehouse/engine/compiled_policy.hpp>
#include <gatehouse/engine/containment.hpp>
#include <gatehouse/policy/resource_name.hpp>
#include <gatehouse/policy/statement.hpp>

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace gatehouse::bench {

/// Uniform choices from std::mt19937_64. The engine's output sequence is fixed by the standard,
/// but the std distributions are not, so the mapping to ranges is ours: a seed gives the same
/// workload on every platform and standard library.
class rng {
 public:
  explicit rng(std::uint64_t seed) : engine_(seed) {}

  /// Uniform in [0, n), n > 0; rejection sampling keeps it unbiased.
  std::size_t below(std::size_t n);
  /// True with probability p.
  bool chance(double p);

  template <typename Range>
  const auto& pick(const Range& from) {
    return from[below(std::size(from))];
  }

 private:
  std::mt19937_64 engine_;
};

/// A generated statement with its resource patterns kept parsed, so that requests and narrowed
/// copies can be derived from their structure rather than re-parsed from text.
struct generated_statement {
  policy::statement statement;
  std::vector<policy::resource_pattern> patterns;
};

struct workload_options {
  std::size_t statements = 100;
  std::size_t requests = 1'000;
  std::uint64_t seed = 1;
  /// Adds `resourceType "*"` allow statements (about 1%, at least one), as Owner-like grants.
  bool universal = false;
};

struct workload {
  std::vector<generated_statement> statements;
  std::vector<engine::request> requests;
};

/// A statement set and requests against it, ~60% derived from a statement (most of them hit)
/// and ~40% drawn from the whole vocabulary (most of them miss). Deterministic for a seed.
[[nodiscard]] workload generate_workload(const workload_options& options);

struct containment_options {
  std::size_t granted = 100;
  std::size_t requested = 20;
  std::uint64_t seed = 1;
  /// When false, one statement is added that allows a request `granted` does not.
  bool contained = true;
};

struct containment_workload {
  std::vector<generated_statement> granted;
  std::vector<generated_statement> requested;
  /// For a not-contained pair: a request `requested` allows and `granted` does not, checked with
  /// the reference evaluator.
  std::optional<engine::request> witness;
};

/// `granted` is a workload's statement set; `requested` narrows some of its allows (fewer
/// actions, concrete keys for globs, extra segments and tags) and copies the denies that could
/// meet them, so that it is contained by construction. Throws std::runtime_error when no
/// not-contained witness can be found (a `granted` that allows everything).
[[nodiscard]] containment_workload generate_containment(const containment_options& options);

/// The statements as `engine::compiled_policy::compile` takes them, all from policy `policy_id`.
[[nodiscard]] std::vector<engine::sourced_statement> sourced(
    std::span<const generated_statement> statements, const std::string& policy_id);

}  // namespace gatehouse::bench
