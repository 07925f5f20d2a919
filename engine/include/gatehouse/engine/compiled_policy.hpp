// The compiled decision structure: statements compiled once into an immutable, action-summarised,
// segment-wise trie that answers "may A be done on R?" without looking at unrelated statements.
#pragma once

#include <gatehouse/policy/catalogue.hpp>
#include <gatehouse/policy/limits.hpp>
#include <gatehouse/policy/resource_name.hpp>
#include <gatehouse/policy/statement.hpp>

#include <boost/system/result.hpp>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::engine {

/// A statement together with the id of the policy it came from.
struct sourced_statement {
  std::string policy_id;
  policy::statement statement;
};

enum class decision : std::uint8_t { implicit_deny, explicit_deny, allow };

/// "allow", "explicit_deny" or "implicit_deny".
[[nodiscard]] std::string_view to_string(decision d) noexcept;

/// The outcome of one evaluation. `determining` statements are the matching denies of an
/// explicit deny, or the matching allows of an allow; `written` of them were stored in the
/// caller's buffer, sorted and unique. `truncated` means the buffer was too small for all; it
/// then holds the lowest ones.
struct verdict {
  engine::decision decision = decision::implicit_deny;
  std::uint32_t written = 0;
  bool truncated = false;

  [[nodiscard]] bool allowed() const noexcept { return decision == decision::allow; }
};

/// A statement as the compiled structure keeps it.
struct compiled_statement {
  std::string policy_id;
  std::string statement_id;
  policy::effect effect = policy::effect::allow;
  /// Matches every resource name, the empty one included, for its `actions`: `resourceType "*"`
  /// (every action), or a deny that failed closed (its own actions).
  bool universal = false;
  policy::action_set actions = 0;
  std::vector<policy::resource_pattern> patterns;
};

/// Why a statement failed to compile.
struct compile_error {
  enum class reason : std::uint8_t {
    /// An action name that is neither `*` nor in the catalogue.
    unknown_action,
    /// A resource pattern that does not parse; `rn` says where and why.
    bad_resource,
    /// A resource pattern with more than `policy::max_pattern_segments` segments.
    too_deep,
    /// A resource pattern longer than `policy::max_pattern_bytes`.
    pattern_too_long,
    /// A pattern segment with more than `policy::max_segment_tags` tags.
    too_many_tags,
    /// A statement with more than `policy::max_statement_actions` actions.
    too_many_actions,
    /// A statement with more than `policy::max_statement_resources` resources.
    too_many_resources,
    /// A statement without actions or without resources (only a stored one can be).
    nothing_listed,
  };
  compile_error::reason what = reason::bad_resource;
  std::size_t statement_index = 0;
  /// Index into the statement's actions or resources, by `what`.
  std::size_t item_index = 0;
  policy::rn_error rn{};
};

/// A one-line description of `e`, naming the statement and the offending item.
[[nodiscard]] std::string describe(const compile_error& e,
                                   std::span<const sourced_statement> statements);

class compiled_policy;

/// A statement set compiled whatever it holds: each statement that does not compile fails
/// closed on its own (SPEC §10). An allow that does not compile grants nothing; a deny that does
/// not compile denies its actions on every resource. `failures` says which and why.
struct fail_closed_compilation {
  std::shared_ptr<const compiled_policy> policy;
  std::vector<compile_error> failures;
};

/// An immutable compiled statement set. Build it with `compile`, share it as
/// `std::shared_ptr<const compiled_policy>`; every member function is safe to call concurrently.
class compiled_policy {
 public:
  /// The deepest resource pattern a statement may have; FeatBit's deepest names have four.
  static constexpr std::size_t max_pattern_depth = policy::max_pattern_segments;
  /// How many statements one walk of `evaluate` collects from (an 8 KiB bitmap per thread);
  /// larger sets are walked once per window.
  static constexpr std::size_t evaluate_window = std::size_t{1} << 16;

  /// Compiles `statements`. Fails on the first statement that does not compile: an unknown
  /// action, an unparsable resource pattern, or a pattern or statement beyond the size limits of
  /// policy/limits.hpp. The actions and resources of `resourceType "*"` statements are not looked
  /// into, as they match everything, but are held to the size limits.
  [[nodiscard]] static boost::system::result<std::shared_ptr<const compiled_policy>, compile_error>
  compile(std::span<const sourced_statement> statements);

  /// Compiles `statements`, each statement that does not compile failing closed on its own.
  [[nodiscard]] static fail_closed_compilation compile_fail_closed(
      std::span<const sourced_statement> statements);

  /// Evaluates (action, resource); writes determining statement indices into `determining`,
  /// the lowest first when they do not all fit. Allocation-free and noexcept.
  verdict evaluate(policy::action_id action, std::string_view resource,
                   std::span<std::uint32_t> determining) const noexcept;
  verdict evaluate(std::string_view action, std::string_view resource,
                   std::span<std::uint32_t> determining) const noexcept {
    return evaluate(policy::find_action(action), resource, determining);
  }

  /// The decision alone, without collecting determining statements.
  [[nodiscard]] decision decide(policy::action_id action, std::string_view resource) const noexcept;
  [[nodiscard]] decision decide(std::string_view action, std::string_view resource) const noexcept {
    return decide(policy::find_action(action), resource);
  }

  /// Of the actions in `of_interest`, those allowed on `resource`, in one walk: the actions of
  /// the matching allows less those of the matching denies.
  [[nodiscard]] policy::action_set allowed_actions(policy::action_set of_interest,
                                                   std::string_view resource) const noexcept;

  [[nodiscard]] std::span<const compiled_statement> statements() const noexcept {
    return statements_;
  }
  [[nodiscard]] const compiled_statement& statement(std::uint32_t index) const noexcept {
    return statements_[index];
  }

  /// Number of trie nodes, for diagnostics and benchmarks.
  [[nodiscard]] std::size_t node_count() const noexcept;

  struct node;
  struct edge;
  struct literal_slot;
  struct text_ref;
  struct prefix_group;
  struct prefix_length;

  compiled_policy(const compiled_policy&) = delete;
  compiled_policy& operator=(const compiled_policy&) = delete;
  ~compiled_policy();

 private:
  compiled_policy();
  struct builder;
  struct walker;
  enum class on_failure : std::uint8_t { refuse, fail_closed };
  static boost::system::result<std::shared_ptr<const compiled_policy>, compile_error> build(
      std::span<const sourced_statement> statements, on_failure mode,
      std::vector<compile_error>* failures);
  void lay_out(builder& trie);

  std::vector<compiled_statement> statements_;
  /// The trie; the universal statements end at its root (node 0).
  std::vector<node> nodes_;
  std::vector<edge> edges_;
  std::vector<std::uint32_t> terminals_;
  std::vector<std::uint32_t> terminal_ranges_;
  std::vector<literal_slot> literal_table_;
  std::uint64_t literal_mask_ = 0;
  /// The prefix groups of crowded nodes, by (node, text).
  std::vector<literal_slot> prefix_table_;
  std::uint64_t prefix_mask_ = 0;
  std::size_t max_depth_ = 0;
  std::vector<text_ref> tag_globs_;
  /// Per tag glob, how it is matched and where its parts are.
  struct tag_shape;
  std::vector<tag_shape> tag_shapes_;
  std::vector<prefix_group> prefix_groups_;
  std::vector<prefix_length> prefix_lengths_;
  std::string strings_;
};

}  // namespace gatehouse::engine
