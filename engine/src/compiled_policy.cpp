// Compiling statements into the segment trie, and evaluating requests against it.
//
// Shape: one trie whose edges are pattern segments (path glob + tag globs). A statement's
// pattern with k segments ends at a depth-k node and matches every resource name that reaches
// that node, which is exactly SPEC §2.3's prefix rule. Edges with literal paths are found through
// one hash table keyed by (parent node, path); glob edges are tried one by one. Every node
// carries the set of actions of the statements ending at or below it, so a request only walks
// the branches that can still decide its action. The cost of a decision is bounded by the
// resource name's depth times the glob edges met on the way, not by the statement count.
#include <gatehouse/engine/compiled_policy.hpp>

#include <gatehouse/policy/glob.hpp>
#include <gatehouse/policy/name_hash.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace gatehouse::engine {

std::string_view to_string(decision d) noexcept {
  switch (d) {
    case decision::allow:
      return "allow";
    case decision::explicit_deny:
      return "explicit_deny";
    case decision::implicit_deny:
      break;
  }
  return "implicit_deny";
}

std::string describe(const compile_error& e, std::span<const sourced_statement> statements) {
  using reason = compile_error::reason;
  std::string out = "statement " + std::to_string(e.statement_index);
  if (e.statement_index >= statements.size()) return out + ": does not compile";
  const auto& s = statements[e.statement_index];
  out += " (\"" + s.statement.id + "\" of policy \"" + s.policy_id + "\")";
  const auto resource = [&] {
    return e.item_index < s.statement.resources.size()
               ? "resource pattern " + std::to_string(e.item_index)
               : std::string("a resource pattern");
  };
  switch (e.what) {
    case reason::unknown_action:
      if (e.item_index < s.statement.actions.size()) {
        return out + ": unknown action \"" + s.statement.actions[e.item_index] + "\"";
      }
      return out + ": unknown action";
    case reason::too_deep:
      return out + ": " + resource() + " has more than " +
             std::to_string(policy::max_pattern_segments) + " segments";
    case reason::pattern_too_long:
      return out + ": " + resource() + " is longer than " +
             std::to_string(policy::max_pattern_bytes) + " bytes";
    case reason::too_many_tags:
      return out + ": " + resource() + " has a segment with more than " +
             std::to_string(policy::max_segment_tags) + " tags";
    case reason::too_many_actions:
      return out + ": more than " + std::to_string(policy::max_statement_actions) + " actions";
    case reason::too_many_resources:
      return out + ": more than " + std::to_string(policy::max_statement_resources) + " resources";
    case reason::nothing_listed:
      return out + ": no actions or no resources";
    case reason::bad_resource:
      break;
  }
  if (e.item_index < s.statement.resources.size()) {
    return out + ": resource \"" + s.statement.resources[e.item_index] +
           "\" does not parse at offset " + std::to_string(e.rn.offset) + ": " +
           policy::make_error_code(e.rn.code).message();
  }
  return out + ": does not compile";
}

struct compiled_policy::text_ref {
  std::uint32_t offset = 0;
  std::uint32_t length = 0;
};

// How an edge's path glob is tested: `*` alone matches anything, `abc*` is a prefix test, and
// only other globs need the general matcher.
enum class path_kind : std::uint8_t { literal, any, prefix, glob };

struct compiled_policy::edge {
  std::uint32_t child = 0;
  text_ref path;
  std::uint32_t tags_begin = 0;
  std::uint32_t tags_end = 0;
  path_kind kind = path_kind::literal;
};

struct compiled_policy::node {
  /// Actions of the statements ending at this node or anywhere below it.
  policy::action_set below = 0;
  /// Actions of the allow and of the deny statements ending at this node.
  policy::action_set here_allow = 0;
  policy::action_set here_deny = 0;
  /// Actions of the statements ending strictly below this node.
  policy::action_set children = 0;
  /// Start of this node's `action_id_count + 1` offsets into `terminals_`: the indices of the
  /// statements ending here for action id a are terminals_[ranges[a], ranges[a + 1]).
  std::uint32_t ranges = 0;
  std::uint32_t globs_begin = 0;
  std::uint32_t globs_end = 0;
  /// This node's prefix globs (`abc*`), one group per text, sorted by text.
  std::uint32_t prefixes_begin = 0;
  std::uint32_t prefixes_end = 0;
  /// The distinct lengths of the prefix texts, ascending, in `prefix_lengths_`: a path meets the
  /// prefix groups of a crowded node by one look-up per length.
  std::uint32_t prefix_lengths_begin = 0;
  std::uint32_t prefix_lengths_end = 0;
  bool has_literals = false;
};

// Prefix globs sharing one text. `head`/`mask` hold its first (up to) eight bytes, so that most
// texts that do not start a path are rejected by one masked compare, without memcmp.
struct compiled_policy::prefix_group {
  text_ref text;
  std::uint32_t edges_begin = 0;
  std::uint32_t edges_end = 0;
  std::uint64_t head = 0;
  std::uint64_t mask = 0;
};

struct compiled_policy::literal_slot {
  static constexpr std::uint32_t empty = std::numeric_limits<std::uint32_t>::max();
  std::uint64_t hash = 0;
  std::uint32_t parent = empty;
  text_ref path;
  std::uint32_t edges_begin = 0;
  std::uint32_t edges_end = 0;
};

namespace {

// The table key of a literal path under a parent node.
constexpr std::uint64_t slot_hash(std::uint64_t path_hash, std::uint32_t parent) noexcept {
  return (path_hash ^ (std::uint64_t{parent} * 0x9e3779b97f4a7c15ULL)) * 0xff51afd7ed558ccdULL;
}

constexpr policy::action_set bit_of(policy::action_id id) noexcept {
  return policy::action_set{1} << id;
}

path_kind kind_of(std::string_view path) noexcept {
  const auto star = path.find('*');
  if (star == std::string_view::npos) return path_kind::literal;
  if (path == "*") return path_kind::any;
  return star == path.size() - 1 ? path_kind::prefix : path_kind::glob;
}

// A segment of the request's resource name. Trivial, so that the walker's array of them costs
// nothing until `split_segments` fills it.
struct rn_segment {
  const char* path_data;
  const char* tags_data;
  std::uint32_t path_size;
  std::uint32_t tags_size;
  bool tagged;
  mutable bool hashed;
  /// Where the walk keeps this segment's tags, sorted: not yet, in `tag_scratch` from
  /// `sorted_begin` to `sorted_end`, or not at all (too many; they are then scanned).
  mutable enum : std::uint8_t { unsorted, sorted, unsortable } tag_order;
  mutable std::uint16_t sorted_begin;
  mutable std::uint16_t sorted_end;
  mutable std::uint64_t path_hash;

  [[nodiscard]] std::string_view path() const noexcept { return {path_data, path_size}; }
  [[nodiscard]] std::string_view tags() const noexcept { return {tags_data, tags_size}; }
  [[nodiscard]] std::uint64_t hash() const noexcept {
    if (!hashed) {
      path_hash = policy::name_hash(path());
      hashed = true;
    }
    return path_hash;
  }
};

// The first `c` in [p, end), or `end`: eight bytes at a time, since splitting the resource name
// is a large share of a decision's cost.
// `floor` is the start of the whole name: a short tail is read as the name's last eight bytes,
// shifted, rather than byte by byte.
const char* find_byte(const char* floor, const char* p, const char* end, char c) noexcept {
  constexpr std::uint64_t ones = 0x0101010101010101ULL;
  constexpr std::uint64_t highs = 0x8080808080808080ULL;
  static_assert(std::endian::native == std::endian::little, "byte order of the word scan");
  const std::uint64_t pattern = ones * static_cast<unsigned char>(c);
  while (p != end) {
    const auto left = static_cast<std::size_t>(end - p);
    std::uint64_t word;
    if (left >= 8) {
      std::memcpy(&word, p, 8);
    } else if (end - floor >= 8) {
      std::memcpy(&word, end - 8, 8);
      word >>= 8 * (8 - left);  // zero bytes shift in; a zero byte never equals a separator
    } else {
      while (p != end && *p != c) ++p;
      return p;
    }
    const std::uint64_t x = word ^ pattern;
    // The lowest flagged byte is exactly the first match; higher flags may be false.
    const std::uint64_t found = (x - ones) & ~x & highs;
    if (found != 0) {
      const auto at = static_cast<std::size_t>(std::countr_zero(found) >> 3);
      return at < left ? p + at : end;
    }
    if (left <= 8) return end;
    p += 8;
  }
  return end;
}

// The tags of the request's segments, sorted as the walk first needs them, so that a literal or
// prefix tag glob is a binary search however many tags a name carries. One per thread: a walk
// never starts another on its thread. A name within the request limit always fits.
// A tag with its first eight bytes as a big-endian number (zero-padded): ordering by (key,
// text) is ordering by text, and most comparisons of a binary search end on the number.
struct sorted_tag {
  std::uint64_t key;
  std::string_view text;

  static std::uint64_t key_of(std::string_view text) noexcept {
    return __builtin_bswap64(policy::first_bytes(text));
  }
  explicit sorted_tag(std::string_view t = {}) noexcept : key(key_of(t)), text(t) {}
  friend bool operator<(const sorted_tag& a, const sorted_tag& b) noexcept {
    return a.key != b.key ? a.key < b.key : a.text < b.text;
  }
  friend bool operator==(const sorted_tag& a, const sorted_tag& b) noexcept {
    return a.key == b.key && a.text == b.text;
  }
};

struct tag_scratch {
  std::array<sorted_tag, policy::max_request_resource_bytes / 2 + 1> tags;
};
thread_local tag_scratch scratch;

// Splits the first `out.size()` segments of a resource name once: the walk visits a segment at
// several nodes when globs branch, and must not scan it again each time.
std::size_t split_segments(std::string_view resource, std::span<rn_segment> out) noexcept {
  const char* p = resource.data();
  const char* const end = p + resource.size();
  std::size_t count = 0;
  while (count < out.size()) {
    const char* const colon = find_byte(resource.data(), p, end, ':');
    const char* const semicolon = find_byte(resource.data(), p, colon, ';');
    auto& segment = out[count++];
    segment.path_data = p;
    segment.path_size = static_cast<std::uint32_t>(semicolon - p);
    segment.tagged = semicolon != colon;
    segment.tags_data = segment.tagged ? semicolon + 1 : colon;
    segment.tags_size = segment.tagged ? static_cast<std::uint32_t>(colon - semicolon - 1) : 0;
    segment.hashed = false;
    segment.tag_order = rn_segment::unsorted;
    if (colon == end) break;
    p = colon + 1;
  }
  return count;
}

}  // namespace

namespace {

// The same glob with every run of stars as one star: it matches the same texts, and is the form
// edges are keyed and tested by.
std::string collapse_stars(std::string_view glob) {
  std::string out;
  out.reserve(glob.size());
  for (const char c : glob) {
    if (c != '*' || out.empty() || out.back() != '*') out += c;
  }
  return out;
}

// The actions that a deny which failed to compile denies everywhere: each listed name's id, where
// an unknown name is the unlisted id that a request naming it resolves to. An empty name stands
// for an entry that could not be read; a deny with no name that can be read denies every action.
policy::action_set lenient_actions(const policy::statement& s) noexcept {
  if (s.resource_type == "*") return policy::all_actions;
  policy::action_set actions = 0;
  bool readable = false;
  for (const auto& name : s.actions) {
    if (name.empty()) continue;
    readable = true;
    actions |= name == policy::any_action ? policy::all_actions : bit_of(policy::find_action(name));
  }
  return readable ? actions : policy::all_actions;
}

using pattern_cache = std::unordered_map<std::string_view, policy::resource_pattern>;

// Resolves the actions and resource patterns of `source` (statement `index`) into `out`, within
// the size limits; identical pattern texts are common across statements and parsed once.
std::optional<compile_error> resolve(const policy::statement& source, std::size_t index,
                                     pattern_cache& parsed, compiled_statement& out) {
  using reason = compile_error::reason;
  if (source.actions.size() > policy::max_statement_actions) {
    return compile_error{reason::too_many_actions, index, 0, {}};
  }
  if (source.resources.size() > policy::max_statement_resources) {
    return compile_error{reason::too_many_resources, index, 0, {}};
  }
  for (std::size_t r = 0; r < source.resources.size(); ++r) {
    if (source.resources[r].size() > policy::max_pattern_bytes) {
      return compile_error{reason::pattern_too_long, index, r, {}};
    }
  }
  if (out.universal) return std::nullopt;  // matches everything; nothing else is consulted
  if (source.actions.empty() || source.resources.empty()) {
    return compile_error{reason::nothing_listed, index, 0, {}};
  }
  for (std::size_t a = 0; a < source.actions.size(); ++a) {
    const auto& name = source.actions[a];
    if (name == policy::any_action) {
      out.actions = policy::all_actions;
      continue;
    }
    const auto id = policy::find_action(name);
    if (id == policy::unlisted_action) return compile_error{reason::unknown_action, index, a, {}};
    out.actions |= bit_of(id);
  }
  for (std::size_t r = 0; r < source.resources.size(); ++r) {
    auto it = parsed.find(source.resources[r]);
    if (it == parsed.end()) {
      auto pattern = policy::parse_resource_pattern(source.resources[r]);
      if (!pattern) return compile_error{reason::bad_resource, index, r, pattern.error()};
      if (pattern->segments.size() > policy::max_pattern_segments) {
        return compile_error{reason::too_deep, index, r, {}};
      }
      for (const auto& segment : pattern->segments) {
        if (segment.tags.size() > policy::max_segment_tags) {
          return compile_error{reason::too_many_tags, index, r, {}};
        }
      }
      it = parsed.emplace(source.resources[r], std::move(*pattern)).first;
    }
    out.patterns.push_back(it->second);
  }
  return std::nullopt;
}

}  // namespace

// A tag glob as the walk matches it against the tags of a name: its kind, and the fewest bytes a
// tag it matches has, tested first so that a long glob is never scanned along many short tags.
struct compiled_policy::tag_shape {
  std::uint32_t min_length = 0;
  path_kind kind = path_kind::literal;
};

// The builder keeps a mutable trie keyed by canonical segment text, then lays it out flat.
struct compiled_policy::builder {
  struct build_edge {
    std::uint32_t child;
    std::string path;
    std::vector<std::string> tags;
  };
  struct build_terminal {
    std::uint32_t statement;
    policy::action_set actions;
    bool deny;
  };
  struct build_node {
    std::uint32_t parent = 0;
    policy::action_set here_allow = 0;
    policy::action_set here_deny = 0;
    policy::action_set below = 0;
    policy::action_set children = 0;
    std::vector<build_terminal> terminals;
    std::vector<build_edge> edges;
  };
  struct pending_slot {
    std::uint32_t parent;
    text_ref path;
    std::uint32_t begin;
    std::uint32_t end;
  };

  std::vector<build_node> nodes{1};
  std::unordered_map<std::string, std::uint32_t> children;
  std::string key;
  /// Literal edge groups, filed into the hash table once every node is laid out.
  std::vector<pending_slot> slots;

  std::uint32_t child_of(std::uint32_t parent, const policy::segment_pattern& segment) {
    // Tag order, repetition and runs of stars never change a match, so they do not split edges.
    std::vector<std::string> tags;
    tags.reserve(segment.tags.size());
    for (const auto& tag : segment.tags) tags.push_back(collapse_stars(tag));
    std::sort(tags.begin(), tags.end());
    tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
    std::string path = collapse_stars(segment.path);
    key.assign(reinterpret_cast<const char*>(&parent), sizeof parent);
    key += path;
    for (const auto& tag : tags) {
      key += ';';
      key += tag;
    }
    const auto [it, inserted] = children.try_emplace(key, static_cast<std::uint32_t>(nodes.size()));
    if (inserted) {
      nodes[parent].edges.push_back({it->second, std::move(path), std::move(tags)});
      nodes.emplace_back().parent = parent;
    }
    return it->second;
  }

  void add(const policy::resource_pattern& pattern, std::uint32_t statement,
           policy::action_set actions, bool deny) {
    std::uint32_t at = 0;
    for (const auto& segment : pattern.segments) at = child_of(at, segment);
    auto& node = nodes[at];
    // Statements are added in order, so a statement already ending here is the last one.
    if (node.terminals.empty() || node.terminals.back().statement != statement) {
      node.terminals.push_back({statement, actions, deny});
    }
    (deny ? node.here_deny : node.here_allow) |= actions;
  }

  /// The action summaries of every node. Children are always created after their parent, so one
  /// reverse pass suffices.
  void summarise() {
    for (std::size_t n = nodes.size(); n-- > 1;) {
      auto& node = nodes[n];
      node.below |= node.here_allow | node.here_deny | node.children;
      nodes[node.parent].children |= node.below;
    }
    nodes[0].below |= nodes[0].children;
  }

  /// Files the node's terminals per action, so that a request reads only the statements of its
  /// own action: a counting sort by action id, linear in what it writes.
  static void lay_out_terminals(const build_node& source, node& target, compiled_policy& out) {
    if (source.terminals.empty()) return;
    target.ranges = static_cast<std::uint32_t>(out.terminal_ranges_.size());
    std::array<std::uint32_t, policy::action_id_count + 1> cursor{};
    for (const auto& t : source.terminals) {
      for (auto bits = t.actions; bits != 0; bits &= bits - 1) ++cursor[std::countr_zero(bits) + 1];
    }
    cursor[0] = static_cast<std::uint32_t>(out.terminals_.size());
    for (std::size_t a = 1; a <= policy::action_id_count; ++a) cursor[a] += cursor[a - 1];
    out.terminal_ranges_.insert(out.terminal_ranges_.end(), cursor.begin(), cursor.end());
    out.terminals_.resize(cursor.back());
    for (const auto& t : source.terminals) {
      for (auto bits = t.actions; bits != 0; bits &= bits - 1) {
        out.terminals_[cursor[std::countr_zero(bits)]++] = t.statement;
      }
    }
  }

  static text_ref intern(compiled_policy& out, std::string_view text) {
    const text_ref ref{static_cast<std::uint32_t>(out.strings_.size()),
                       static_cast<std::uint32_t>(text.size())};
    out.strings_ += text;
    return ref;
  }

  static text_ref emit(compiled_policy& out, const build_edge& e) {
    edge flat{.child = e.child, .path = intern(out, e.path), .kind = kind_of(e.path)};
    flat.tags_begin = static_cast<std::uint32_t>(out.tag_globs_.size());
    for (const auto& tag : e.tags) {
      out.tag_globs_.push_back(intern(out, tag));
      out.tag_shapes_.push_back(
          {static_cast<std::uint32_t>(policy::glob_min_length(tag)), kind_of(tag)});
    }
    flat.tags_end = static_cast<std::uint32_t>(out.tag_globs_.size());
    out.edges_.push_back(flat);
    return flat.path;
  }

  /// Lays out node `n`'s edges in three groups: globs tried one by one (`*` and general globs),
  /// prefix globs found by the first bytes of their text, and literals found by their path; the
  /// last two grouped by text so that one entry names all edges sharing it.
  void lay_out_edges(std::uint32_t n, node& target, compiled_policy& out) {
    auto& edges = nodes[n].edges;
    const auto rank = [](const build_edge& e) {
      const auto kind = kind_of(e.path);
      return kind == path_kind::prefix ? 1 : kind == path_kind::literal ? 2 : 0;
    };
    // Prefix edges by their text (the path less its star), so that the groups are in text order.
    const auto order = [&](const build_edge& e) {
      const std::string_view path = e.path;
      return std::pair(rank(e), rank(e) == 1 ? path.substr(0, path.size() - 1) : path);
    };
    std::stable_sort(edges.begin(), edges.end(),
                     [&](auto& a, auto& b) { return order(a) < order(b); });
    const auto prefix_first =
        std::find_if(edges.begin(), edges.end(), [&](auto& e) { return rank(e) > 0; });
    target.globs_begin = static_cast<std::uint32_t>(out.edges_.size());
    for (auto it = edges.begin(); it != prefix_first; ++it) emit(out, *it);
    target.globs_end = static_cast<std::uint32_t>(out.edges_.size());

    target.prefixes_begin = static_cast<std::uint32_t>(out.prefix_groups_.size());
    for (auto it = prefix_first; it != edges.end();) {
      const auto group_end =
          std::find_if(it, edges.end(), [&](auto& e) { return e.path != it->path; });
      const auto begin = static_cast<std::uint32_t>(out.edges_.size());
      text_ref path{};
      for (auto e = it; e != group_end; ++e) path = emit(out, *e);
      const auto end = static_cast<std::uint32_t>(out.edges_.size());
      if (rank(*it) == 1) {
        --path.length;  // the trailing star
        const std::string_view prefix_text(out.strings_.data() + path.offset, path.length);
        const auto head_size = std::min<std::size_t>(8, path.length);
        out.prefix_groups_.push_back({path, begin, end, policy::first_bytes(prefix_text),
                                      head_size == 8
                                          ? ~std::uint64_t{0}
                                          : policy::first_bytes(std::string(head_size, '\xff'))});
      } else {
        target.has_literals = true;
        slots.push_back({n, path, begin, end});
      }
      it = group_end;
    }
    target.prefixes_end = static_cast<std::uint32_t>(out.prefix_groups_.size());
    target.prefix_lengths_begin = static_cast<std::uint32_t>(out.prefix_lengths_.size());
    for (auto g = target.prefixes_begin; g != target.prefixes_end; ++g) {
      out.prefix_lengths_.push_back(out.prefix_groups_[g].text.length);
    }
    const auto lengths = out.prefix_lengths_.begin() + target.prefix_lengths_begin;
    std::sort(lengths, out.prefix_lengths_.end());
    out.prefix_lengths_.erase(std::unique(lengths, out.prefix_lengths_.end()),
                              out.prefix_lengths_.end());
    target.prefix_lengths_end = static_cast<std::uint32_t>(out.prefix_lengths_.size());
  }

  /// The open-addressed table of literal edge groups, keyed by (parent node, path).
  void fill_literal_table(compiled_policy& out) const {
    const std::size_t capacity = std::bit_ceil(std::max<std::size_t>(8, slots.size() * 2));
    out.literal_table_.assign(capacity, literal_slot{});
    out.literal_mask_ = capacity - 1;
    for (const auto& slot : slots) {
      const std::string_view path(out.strings_.data() + slot.path.offset, slot.path.length);
      const auto hash = slot_hash(policy::name_hash(path), slot.parent);
      auto i = hash & out.literal_mask_;
      while (out.literal_table_[i].parent != literal_slot::empty) i = (i + 1) & out.literal_mask_;
      out.literal_table_[i] = {hash, slot.parent, slot.path, slot.begin, slot.end};
    }
  }
};

compiled_policy::compiled_policy() = default;
compiled_policy::~compiled_policy() = default;

std::size_t compiled_policy::node_count() const noexcept { return nodes_.size(); }

boost::system::result<std::shared_ptr<const compiled_policy>, compile_error>
compiled_policy::compile(std::span<const sourced_statement> statements) {
  return build(statements, on_failure::refuse, nullptr);
}

fail_closed_compilation compiled_policy::compile_fail_closed(
    std::span<const sourced_statement> statements) {
  fail_closed_compilation out;
  out.policy = *build(statements, on_failure::fail_closed, &out.failures);
  return out;
}

boost::system::result<std::shared_ptr<const compiled_policy>, compile_error> compiled_policy::build(
    std::span<const sourced_statement> statements, on_failure mode,
    std::vector<compile_error>* failures) {
  std::shared_ptr<compiled_policy> out(new compiled_policy());
  builder trie;
  pattern_cache parsed;
  parsed.reserve(statements.size());
  out->statements_.reserve(statements.size());
  for (std::size_t i = 0; i < statements.size(); ++i) {
    const auto& source = statements[i].statement;
    compiled_statement compiled;
    compiled.policy_id = statements[i].policy_id;
    compiled.statement_id = source.id;
    compiled.effect = source.effect;
    compiled.universal = source.resource_type == "*";
    if (compiled.universal) compiled.actions = policy::all_actions;
    if (auto error = resolve(source, i, parsed, compiled)) {
      if (mode == on_failure::refuse) return *error;
      failures->push_back(*error);
      // Fails closed on its own: an allow grants nothing, a deny denies its actions everywhere.
      compiled.patterns.clear();
      compiled.universal = source.effect == policy::effect::deny;
      compiled.actions = compiled.universal ? lenient_actions(source) : 0;
    }
    const auto index = static_cast<std::uint32_t>(i);
    const bool deny = source.effect == policy::effect::deny;
    if (compiled.universal) {
      (deny ? out->universal_denies_ : out->universal_allows_).push_back(index);
      (deny ? out->universal_deny_actions_ : out->universal_allow_actions_) |= compiled.actions;
    }
    for (const auto& pattern : compiled.patterns) {
      out->max_depth_ = std::max(out->max_depth_, pattern.segments.size());
      trie.add(pattern, index, compiled.actions, deny);
    }
    out->statements_.push_back(std::move(compiled));
  }
  out->deny_words_.assign((statements.size() + 63) / 64, 0);
  for (std::size_t i = 0; i < statements.size(); ++i) {
    if (statements[i].statement.effect == policy::effect::deny) {
      out->deny_words_[i / 64] |= std::uint64_t{1} << (i % 64);
    }
  }
  trie.summarise();
  out->lay_out(trie);
  return std::shared_ptr<const compiled_policy>(std::move(out));
}

void compiled_policy::lay_out(builder& trie) {
  nodes_.resize(trie.nodes.size());
  for (std::size_t n = 0; n < trie.nodes.size(); ++n) {
    const auto& source = trie.nodes[n];
    auto& target = nodes_[n];
    target.below = source.below;
    target.here_allow = source.here_allow;
    target.here_deny = source.here_deny;
    target.children = source.children;
    builder::lay_out_terminals(source, target, *this);
    trie.lay_out_edges(static_cast<std::uint32_t>(n), target, *this);
  }
  trie.fill_literal_table(*this);
}

// One walk over the trie for one request. It always gathers the allowed and denied action sets
// of the statements it meets; given a window, it also marks in `seen` the statements of one
// action, of either effect, whose indices fall in [window_begin, window_begin + window). A
// statement met at several nodes is marked once. `stop_at_deny` ends the walk at the first
// matching deny.
struct compiled_policy::walker {
  walker(const compiled_policy& p, policy::action_set a) noexcept : policy(p), action(a) {}

  const compiled_policy& policy;
  policy::action_set action;
  bool stop_at_deny = false;
  policy::action_set allowed = 0;
  policy::action_set denied = 0;
  /// Bit i of word i / 64 set when statement window_begin + i was met; bit w of summary word
  /// w / 64 set when word w of `seen` is not zero.
  std::uint64_t* seen = nullptr;
  std::uint64_t* summary = nullptr;
  std::uint32_t window_begin = 0;
  std::uint32_t window = 0;
  std::array<rn_segment, max_pattern_depth> segments;  // filled by run(), up to `depth`
  std::size_t depth = 0;
  /// Entries of `scratch.tags` this walk has taken.
  std::size_t scratch_used = 0;

  [[nodiscard]] bool done() const noexcept { return stop_at_deny && denied != 0; }

  void mark(std::uint32_t statement) noexcept {
    const std::uint32_t at = statement - window_begin;  // wraps for statements before the window
    if (at >= window) return;
    const std::uint32_t word = at / 64;
    seen[word] |= std::uint64_t{1} << (at % 64);
    summary[word / 64] |= std::uint64_t{1} << (word % 64);
  }

  [[nodiscard]] std::string_view text(text_ref ref) const noexcept {
    return {policy.strings_.data() + ref.offset, ref.length};
  }

  /// The segment's non-empty tags, sorted and each once, or nothing when they do not fit the
  /// scratch.
  std::optional<std::span<const sorted_tag>> sorted_tags(const rn_segment& segment) noexcept {
    auto& tags = scratch.tags;
    if (segment.tag_order == rn_segment::unsorted) {
      segment.tag_order = rn_segment::unsortable;
      std::size_t n = scratch_used;
      std::string_view rest = segment.tags();
      for (;;) {
        const auto comma = rest.find(',');
        if (const auto tag = rest.substr(0, comma); !tag.empty()) {
          if (n == tags.size()) return std::nullopt;
          tags[n++] = sorted_tag(tag);
        }
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
      const auto first = tags.begin() + static_cast<std::ptrdiff_t>(scratch_used);
      std::sort(first, tags.begin() + static_cast<std::ptrdiff_t>(n));
      n = static_cast<std::size_t>(
          std::unique(first, tags.begin() + static_cast<std::ptrdiff_t>(n)) - tags.begin());
      segment.sorted_begin = static_cast<std::uint16_t>(scratch_used);
      segment.sorted_end = static_cast<std::uint16_t>(n);
      segment.tag_order = rn_segment::sorted;
      scratch_used = n;
    }
    if (segment.tag_order != rn_segment::sorted) return std::nullopt;
    return std::span<const sorted_tag>(tags.data() + segment.sorted_begin,
                                       segment.sorted_end - segment.sorted_begin);
  }

  // Whether one of the sorted `tags` matches tag glob `g`: `*`, a literal and a prefix by look-up,
  // any other glob by trying the tags long enough for it.
  [[nodiscard]] bool tag_glob_matches(std::uint32_t g,
                                      std::span<const sorted_tag> tags) const noexcept {
    const std::string_view glob = text(policy.tag_globs_[g]);
    const tag_shape& shape = policy.tag_shapes_[g];
    switch (shape.kind) {
      case path_kind::any:
        return !tags.empty();
      case path_kind::literal: {
        const sorted_tag wanted(glob);
        const auto it = std::lower_bound(tags.begin(), tags.end(), wanted);
        return it != tags.end() && *it == wanted;
      }
      case path_kind::prefix: {
        const sorted_tag prefix(glob.substr(0, glob.size() - 1));
        const auto it = std::lower_bound(tags.begin(), tags.end(), prefix);
        return it != tags.end() && it->text.starts_with(prefix.text);
      }
      case path_kind::glob:
        break;
    }
    // Taken apart and its pieces' search tables built once, not once per tag.
    const policy::prepared_glob prepared(glob);
    return std::any_of(tags.begin(), tags.end(), [&](const sorted_tag& tag) {
      return tag.text.size() >= shape.min_length && prepared.matches(tag.text);
    });
  }

  [[nodiscard]] bool tags_match(const edge& e, const rn_segment& segment) noexcept {
    if (e.tags_begin == e.tags_end) return true;
    if (!segment.tagged) return false;
    if (const auto tags = sorted_tags(segment)) {
      for (auto g = e.tags_begin; g != e.tags_end; ++g) {
        if (tag_glob_matches(g, *tags)) return true;
      }
      return false;
    }
    // More tags than a request may carry: each tag against each glob, the length test first.
    std::string_view rest = segment.tags();
    for (;;) {
      const auto comma = rest.find(',');
      const auto tag = rest.substr(0, comma);
      if (!tag.empty()) {
        for (auto g = e.tags_begin; g != e.tags_end; ++g) {
          if (tag.size() >= policy.tag_shapes_[g].min_length &&
              policy::glob_match(text(policy.tag_globs_[g]), tag)) {
            return true;
          }
        }
      }
      if (comma == std::string_view::npos) return false;
      rest.remove_prefix(comma + 1);
    }
  }

  [[nodiscard]] bool path_matches(const edge& e, std::string_view path) const noexcept {
    switch (e.kind) {
      case path_kind::any:
        return true;
      case path_kind::prefix:
        return path.starts_with(text({e.path.offset, e.path.length - 1}));
      case path_kind::literal:
      case path_kind::glob:
        break;
    }
    return policy::glob_match(text(e.path), path);
  }

  void follow(const edge& e, const rn_segment& segment, std::size_t next) noexcept {
    if ((policy.nodes_[e.child].below & action) == 0) return;
    if (!tags_match(e, segment)) return;
    walk(e.child, next);
  }

  void visit_terminals(std::uint32_t at) noexcept {
    const node& n = policy.nodes_[at];
    const policy::action_set allow_hit = n.here_allow & action;
    const policy::action_set deny_hit = n.here_deny & action;
    if ((allow_hit | deny_hit) == 0) return;
    allowed |= allow_hit;
    denied |= deny_hit;
    if (seen == nullptr) return;
    const auto id = static_cast<std::size_t>(std::countr_zero(action));
    const auto begin = policy.terminal_ranges_[n.ranges + id];
    const auto end = policy.terminal_ranges_[n.ranges + id + 1];
    for (auto t = begin; t != end; ++t) mark(policy.terminals_[t]);
  }

  // Follows the edges of the literal `path` under node `at`, if there is one.
  void follow_literal(std::uint32_t at, const rn_segment& segment, std::size_t level) noexcept {
    const auto hash = slot_hash(segment.hash(), at);
    for (auto i = hash & policy.literal_mask_;; i = (i + 1) & policy.literal_mask_) {
      const literal_slot& slot = policy.literal_table_[i];
      if (slot.parent == literal_slot::empty) return;
      if (slot.hash == hash && slot.parent == at && text(slot.path) == segment.path()) {
        for (auto e = slot.edges_begin; e != slot.edges_end && !done(); ++e) {
          follow(policy.edges_[e], segment, level + 1);
        }
        return;
      }
    }
  }

  // Follows every prefix glob of node `n` whose text starts the segment's path.
  void follow_prefixes(const node& n, const rn_segment& segment, std::size_t level) noexcept {
    const std::string_view path = segment.path();
    if (n.prefixes_end - n.prefixes_begin > crowded_prefixes) {
      return follow_crowded_prefixes(n, segment, level);
    }
    const std::uint64_t path_head = policy::first_bytes(path);
    for (auto g = n.prefixes_begin; g != n.prefixes_end && !done(); ++g) {
      const prefix_group& group = policy.prefix_groups_[g];
      if ((path_head & group.mask) != group.head) continue;
      if (group.text.length > 8 && !path.starts_with(text(group.text))) continue;
      if (group.text.length > path.size()) continue;
      follow_group(group, segment, level);
    }
  }

  /// Above this many prefix groups at a node, they are looked up by length rather than tried.
  static constexpr std::uint32_t crowded_prefixes = 8;

  // Follows the prefix groups of a crowded node whose text starts the path: for each length the
  // node's texts have, the group whose text is the path's first bytes, found by binary search.
  void follow_crowded_prefixes(const node& n, const rn_segment& segment,
                               std::size_t level) noexcept {
    const std::string_view path = segment.path();
    const auto first = policy.prefix_groups_.begin() + n.prefixes_begin;
    const auto last = policy.prefix_groups_.begin() + n.prefixes_end;
    for (auto l = n.prefix_lengths_begin; l != n.prefix_lengths_end && !done(); ++l) {
      const std::uint32_t length = policy.prefix_lengths_[l];
      if (length > path.size()) return;
      const std::string_view key = path.substr(0, length);
      const auto it = std::lower_bound(
          first, last, key,
          [&](const prefix_group& g, std::string_view k) { return text(g.text) < k; });
      if (it != last && text(it->text) == key) follow_group(*it, segment, level);
    }
  }

  void follow_group(const prefix_group& group, const rn_segment& segment,
                    std::size_t level) noexcept {
    for (auto e = group.edges_begin; e != group.edges_end && !done(); ++e) {
      follow(policy.edges_[e], segment, level + 1);
    }
  }

  // Visits node `at`, which matched the first `level` segments.
  void walk(std::uint32_t at, std::size_t level) noexcept {
    visit_terminals(at);
    const node& n = policy.nodes_[at];
    if (done() || level == depth || (n.children & action) == 0) return;
    const rn_segment& segment = segments[level];
    if (n.has_literals) follow_literal(at, segment, level);
    if (n.prefixes_begin != n.prefixes_end) follow_prefixes(n, segment, level);
    for (auto e = n.globs_begin; e != n.globs_end && !done(); ++e) {
      const edge& g = policy.edges_[e];
      if (path_matches(g, segment.path())) follow(g, segment, level + 1);
    }
  }

  // The statements that match every resource name, for the actions they hold.
  void visit_universal(const std::vector<std::uint32_t>& statements, policy::action_set actions,
                       policy::action_set& into) noexcept {
    const policy::action_set hit = action & actions;
    if (hit == 0) return;
    into |= hit;
    if (seen == nullptr) return;
    for (const auto s : statements) {
      if ((policy.statements_[s].actions & action) != 0) mark(s);
    }
  }

  void run(std::string_view resource) noexcept {
    visit_universal(policy.universal_denies_, policy.universal_deny_actions_, denied);
    if (done()) return;
    visit_universal(policy.universal_allows_, policy.universal_allow_actions_, allowed);
    if (resource.empty() || policy.max_depth_ == 0) return;
    depth = split_segments(resource, std::span(segments.data(), policy.max_depth_));
    walk(0, 0);
  }
};

decision compiled_policy::decide(policy::action_id action,
                                 std::string_view resource) const noexcept {
  walker w{*this, bit_of(action)};
  w.stop_at_deny = true;
  w.run(resource);
  if (w.denied != 0) return decision::explicit_deny;
  return w.allowed != 0 ? decision::allow : decision::implicit_deny;
}

policy::action_set compiled_policy::allowed_actions(policy::action_set of_interest,
                                                    std::string_view resource) const noexcept {
  walker w{*this, of_interest};
  w.run(resource);
  return w.allowed & ~w.denied;
}

verdict compiled_policy::evaluate(policy::action_id action, std::string_view resource,
                                  std::span<std::uint32_t> determining) const noexcept {
  // The statements met are marked in a bitmap on the stack and read back in index order, which
  // deduplicates and sorts them without a sort; a summary bitmap of the non-zero words keeps the
  // read-back proportional to what was met. A set larger than the bitmap is walked once per
  // window of statements; the output is complete once the buffer is full or the windows end.
  constexpr std::size_t seen_words = evaluate_window / 64;
  std::array<std::uint64_t, seen_words> seen;
  std::array<std::uint64_t, seen_words / 64> summary;
  verdict v;
  std::uint32_t begin = 0;
  do {
    const auto end = static_cast<std::uint32_t>(
        std::min<std::size_t>(statements_.size(), std::size_t{begin} + evaluate_window));
    const std::size_t words = (end - begin + 63) / 64;
    const std::size_t summary_words = (words + 63) / 64;
    std::fill_n(seen.begin(), words, 0);
    std::fill_n(summary.begin(), summary_words, 0);
    walker w{*this, bit_of(action)};
    w.seen = seen.data();
    w.summary = summary.data();
    w.window_begin = begin;
    w.window = end - begin;
    w.run(resource);
    if (begin == 0) {
      if (w.denied != 0) {
        v.decision = decision::explicit_deny;
      } else if (w.allowed != 0) {
        v.decision = decision::allow;
      } else {
        return v;
      }
    }
    // Denies decide a deny and allows an allow; the other effect's statements are left out.
    const std::uint64_t flip = v.decision == decision::explicit_deny ? 0 : ~std::uint64_t{0};
    const std::uint64_t* deny = deny_words_.data() + (begin / 64);
    for (std::size_t s = 0; s < summary_words; ++s) {
      for (std::uint64_t nonzero = summary[s]; nonzero != 0; nonzero &= nonzero - 1) {
        const std::size_t word = (s * 64) + static_cast<std::size_t>(std::countr_zero(nonzero));
        std::uint64_t bits = seen[word] & (deny[word] ^ flip);
        for (; bits != 0; bits &= bits - 1) {
          if (v.written == determining.size()) {
            v.truncated = true;
            return v;
          }
          determining[v.written++] = begin + static_cast<std::uint32_t>(word * 64) +
                                     static_cast<std::uint32_t>(std::countr_zero(bits));
        }
      }
    }
    begin = end;
  } while (begin < statements_.size());
  return v;
}

}  // namespace gatehouse::engine
