// The flat arrays a compiled policy is laid out in: the trie's nodes, edges, prefix groups and
// literal table, as the compiler writes them and the walk of every decision reads them.
//
// Shape: one trie whose edges are pattern segments (path glob + tag globs). A statement's
// pattern with k segments ends at a depth-k node and matches every resource name that reaches
// that node, which is exactly SPEC §2.3's prefix rule. Edges with literal paths are found through
// one hash table keyed by (parent node, path); glob edges are tried one by one. Every node
// carries the set of actions of the statements ending at or below it, so a request only walks
// the branches that can still decide its action. The cost of a decision is bounded by the
// resource name's depth times the glob edges met on the way, not by the statement count.
#pragma once

#include <gatehouse/engine/compiled_policy.hpp>

#include <cstdint>
#include <limits>
#include <string_view>

namespace gatehouse::engine {

struct compiled_policy::text_ref {
  std::uint32_t offset = 0;
  std::uint32_t length = 0;
};

/// The entries [begin, end) of one of the flat arrays.
struct index_range {
  std::uint32_t begin = 0;
  std::uint32_t end = 0;

  [[nodiscard]] constexpr bool empty() const noexcept { return begin == end; }
  [[nodiscard]] constexpr std::uint32_t size() const noexcept { return end - begin; }
};

// How an edge's path glob is tested: `*` alone matches anything, `abc*` is a prefix test, and
// only other globs need the general matcher.
enum class path_kind : std::uint8_t { literal, any, prefix, glob };

struct compiled_policy::edge {
  std::uint32_t child = 0;
  text_ref path;
  /// Its tag globs, in `tag_globs_` and `tag_shapes_`.
  index_range tags;
  path_kind kind = path_kind::literal;
};

/// The actions a trie node can decide, at it and below it: what lets a walk pass by every branch
/// that cannot decide its action, or that can no longer change the answer.
struct action_summary {
  /// Actions of the allow and of the deny statements ending at this node.
  policy::action_set here_allow = 0;
  policy::action_set here_deny = 0;
  /// Actions of the statements ending strictly below this node.
  policy::action_set children = 0;
  /// Actions of the deny statements ending at this node or anywhere below it: once a walk knows
  /// an action is allowed, only these branches can still change its answer.
  policy::action_set deny_below = 0;

  /// Actions of the statements ending at this node or anywhere below it.
  [[nodiscard]] constexpr policy::action_set below() const noexcept {
    return here_allow | here_deny | children;
  }
};

struct compiled_policy::node {
  action_summary actions;
  /// Start of this node's offsets into `terminals_`, one range per action the node's allows
  /// name, then one per action its denies name, in action order, then the end: the allows of
  /// action a are range popcount(here_allow & (bit(a) - 1)), its denies range
  /// popcount(here_allow) + popcount(here_deny & (bit(a) - 1)). Each range is sorted.
  std::uint32_t ranges = 0;
  /// This node's edges tried one by one (`*` and general globs), in `edges_`.
  index_range globs;
  /// This node's prefix globs (`abc*`), one group per text, sorted by text, in `prefix_groups_`.
  index_range prefixes;
  /// The distinct lengths of the prefix texts, ascending, in `prefix_lengths_`: a path meets the
  /// prefix groups of a crowded node by one look-up in `prefix_table_` per length whose filter
  /// holds the hash of its first bytes.
  index_range prefix_lengths;
  bool has_literals = false;
};

// Prefix globs sharing one text. `head`/`mask` hold its first (up to) eight bytes and `tail`
// its last eight (when it is longer), so that a text that does not start a path is rejected by
// two word compares without memcmp, even when the texts all begin alike (`project/`), and a text
// of up to 16 bytes is matched by them alone.
struct compiled_policy::prefix_group {
  text_ref text;
  index_range edges;
  std::uint64_t head = 0;
  std::uint64_t mask = 0;
  std::uint64_t tail = 0;
};

// One of the distinct lengths of a crowded node's prefix texts, with a filter of the texts of that
// length (`detail::filter_bit` of each one's hash).
struct compiled_policy::prefix_length {
  std::uint32_t length = 0;
  std::uint64_t filter = 0;
};

// An entry of the literal table (a literal path under a parent node) or of the prefix table (a
// prefix text under a crowded parent node), and the edges it leads to.
struct compiled_policy::literal_slot {
  static constexpr std::uint32_t empty = std::numeric_limits<std::uint32_t>::max();
  std::uint64_t hash = 0;
  std::uint32_t parent = empty;
  text_ref path;
  index_range edges;
};

// A tag glob as the walk matches it against the tags of a name: its kind, and the fewest bytes a
// tag it matches has, tested first so that a long glob is never scanned along many short tags.
struct compiled_policy::tag_shape {
  std::uint32_t min_length = 0;
  path_kind kind = path_kind::literal;
};

namespace detail {

/// The bit of a text's hash in a filter of texts: a set of them as one word, which says for
/// certain when a text is not among them.
constexpr std::uint64_t filter_bit(std::uint64_t hash) noexcept {
  return std::uint64_t{1} << (hash >> 58);
}

/// Above this many prefix groups at a node, a walk looks them up by length in the prefix table
/// rather than trying each.
inline constexpr std::uint32_t crowded_prefixes = 8;

// The table key of a literal path under a parent node.
constexpr std::uint64_t slot_hash(std::uint64_t path_hash, std::uint32_t parent) noexcept {
  return (path_hash ^ (std::uint64_t{parent} * 0x9e3779b97f4a7c15ULL)) * 0xff51afd7ed558ccdULL;
}

constexpr policy::action_set bit_of(policy::action_id id) noexcept {
  return policy::action_set{1} << id;
}

constexpr path_kind kind_of(std::string_view path) noexcept {
  const auto star = path.find('*');
  if (star == std::string_view::npos) return path_kind::literal;
  if (path == "*") return path_kind::any;
  return star == path.size() - 1 ? path_kind::prefix : path_kind::glob;
}

}  // namespace detail
}  // namespace gatehouse::engine
