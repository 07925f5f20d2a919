// Deciding requests: one walk over the compiled trie per request, following only the branches
// that can still change its answer; `decide`, `allowed_actions` and `evaluate` are its three
// uses.
#include <gatehouse/engine/compiled_policy.hpp>

#include "flat_layout.hpp"
#include "request_name.hpp"

#include <gatehouse/policy/glob.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <limits>
#include <optional>
#include <span>
#include <string_view>

namespace gatehouse::engine {
namespace {

using detail::bit_of;
using detail::rn_segment;
using detail::slot_hash;
using detail::sorted_tag;

// std::popcount without a popcnt instruction in the target is a library call; the walk needs it
// once per range it marks, so it counts inline.
constexpr std::size_t count_ones(std::uint64_t x) noexcept {
  x -= (x >> 1) & 0x5555555555555555ULL;
  x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
  x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
  return static_cast<std::size_t>((x * 0x0101010101010101ULL) >> 56);
}
static_assert(count_ones(0) == 0 && count_ones(~std::uint64_t{0}) == 64 && count_ones(0x90) == 2);

// Whether `a` and `b` are the same text: texts of up to 16 bytes, most path segments, by their
// first and last eight bytes, without a call to memcmp.
bool same_text(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  if (a.size() > 16) return a == b;
  if (policy::first_bytes(a) != policy::first_bytes(b)) return false;
  return a.size() <= 8 ||
         policy::first_bytes(a.substr(a.size() - 8)) == policy::first_bytes(b.substr(b.size() - 8));
}

// The tags of the request's segments, sorted as the walk first needs them, so that a literal or
// prefix tag glob is a binary search however many tags a name carries. One per thread: a walk
// never starts another on its thread. A name within the request limit always fits.
struct tag_scratch {
  std::array<sorted_tag, policy::max_request_resource_bytes / 2 + 1> tags;
};
thread_local tag_scratch scratch;

// The statements `evaluate` has met, when it met more terminal ranges than it merges directly: one
// bit each within a window of statements, and a summary bit per non-zero word so that reading
// them back costs what was met, not the window. All zero between calls: reading back clears what
// it reads, so no call pays to clear 8 KiB. One per thread, like the tag scratch.
struct met_statements {
  static constexpr std::size_t words = compiled_policy::evaluate_window / 64;
  std::array<std::uint64_t, words> seen;
  std::array<std::uint64_t, words / 64> summary;
};
thread_local met_statements met;

// Writes the statements marked in `met` (the window of `window` statements from `begin`) into
// `determining` from `v.written` on, in index order, and clears every mark, also those that did not
// fit. False once the buffer is full.
bool read_back(std::uint32_t begin, std::uint32_t window, std::span<std::uint32_t> determining,
               verdict& v) noexcept {
  // Locals, not `v`'s fields: a store to `determining` could otherwise alias them.
  std::uint32_t written = v.written;
  const auto capacity = static_cast<std::uint32_t>(determining.size());
  bool room = !v.truncated;
  const std::size_t summary_words = (std::size_t{window} + 64 * 64 - 1) / (64 * 64);
  for (std::size_t s = 0; s < summary_words; ++s) {
    for (std::uint64_t nonzero = std::exchange(met.summary[s], 0); nonzero != 0;
         nonzero &= nonzero - 1) {
      const std::size_t word = (s * 64) + static_cast<std::size_t>(std::countr_zero(nonzero));
      std::uint64_t bits = std::exchange(met.seen[word], 0);
      if (!room) continue;
      const std::uint32_t base = begin + static_cast<std::uint32_t>(word * 64);
      for (; bits != 0; bits &= bits - 1) {
        if (written == capacity) {  // only the lowest ones fit
          room = false;
          break;
        }
        determining[written++] = base + static_cast<std::uint32_t>(std::countr_zero(bits));
      }
    }
  }
  v.written = written;
  v.truncated = !room;
  return room;
}

// Clears every mark in `met`.
void forget_marks() noexcept {
  for (auto& nonzero : met.summary) {
    for (; nonzero != 0; nonzero &= nonzero - 1) {
      const auto word = static_cast<std::size_t>(&nonzero - met.summary.data()) * 64 +
                        static_cast<std::size_t>(std::countr_zero(nonzero));
      met.seen[word] = 0;
    }
  }
}

}  // namespace

// One walk over the trie for one request. It gathers the allowed and denied action sets of the
// statements it meets, passing by every branch that can no longer change them: an action known
// to be denied needs nothing more, and one known to be allowed needs only branches with denies.
// `evaluate` gives it another goal: to report every allow of its one action until a deny is met,
// and from then on every deny, through the branches with denies only. The walk keeps the first few
// terminal ranges it reports, which `evaluate` merges; past those, it marks in `met` the statements
// whose index falls in [window_begin, window_begin + window).
//
// The steps of a walk below `descend` are forced inline, so that one level of the trie costs one
// call: the saving and restoring of registers at each nested call were a tenth of a decision.
struct compiled_policy::walker {
  enum class goal : std::uint8_t { answer, report };
  /// How many terminal ranges a walk keeps before it marks them in `met` instead. Each range is
  /// sorted, so a few are merged faster than marked and read back.
  static constexpr std::size_t kept_ranges = 2;

  walker(const compiled_policy& p, policy::action_set a, goal g = goal::answer) noexcept
      : policy(p), action(a), purpose(g) {
    settle();
  }

  const compiled_policy& policy;
  policy::action_set action;
  goal purpose;
  policy::action_set allowed = 0;
  policy::action_set denied = 0;
  /// The actions whose allows, and whose denies, can still change what the walk is for.
  policy::action_set allows_wanted = 0;
  policy::action_set denies_wanted = 0;
  std::uint32_t window_begin = 0;
  std::uint32_t window = 0;
  /// The terminal ranges reported so far, while `marking` is false.
  std::array<index_range, kept_ranges> kept;
  std::uint32_t kept_count = 0;
  /// Whether reported ranges go to `met`: the walk met more than `kept_ranges`, or was told to.
  bool marking = false;
  std::array<rn_segment, max_pattern_depth> split;  // filled by `segments` as the walk goes
  std::optional<detail::name_segments> segments;
  /// Entries of `scratch.tags` this walk has taken.
  std::size_t scratch_used = 0;

  void settle() noexcept {
    switch (purpose) {
      case goal::answer:
        allows_wanted = action & ~(allowed | denied);
        denies_wanted = action & ~denied;
        break;
      case goal::report:  // every allow up to the first deny, then every deny
        allows_wanted = denied != 0 ? 0 : action;
        denies_wanted = action;
        break;
    }
  }

  [[nodiscard]] bool done() const noexcept { return (allows_wanted | denies_wanted) == 0; }

  /// Whether anything at or below `n` can still change what the walk is for.
  [[nodiscard]] bool wanted(const node& n) const noexcept {
    return ((n.actions.below() & allows_wanted) | (n.actions.deny_below & denies_wanted)) != 0;
  }

  void mark(std::uint32_t statement) const noexcept {
    const std::uint32_t at = statement - window_begin;  // wraps for statements before the window
    if (at >= window) return;
    const std::uint32_t word = at / 64;
    met.seen[word] |= std::uint64_t{1} << (at % 64);
    met.summary[word / 64] |= std::uint64_t{1} << (word % 64);
  }

  void mark_range(index_range range) const noexcept {
    const std::uint32_t* const terminals = policy.terminals_.data();
    if (window == policy.statements_.size()) {  // one window holds every statement
      for (auto t = range.begin; t != range.end; ++t) {
        const std::uint32_t word = terminals[t] / 64;
        met.seen[word] |= std::uint64_t{1} << (terminals[t] % 64);
        met.summary[word / 64] |= std::uint64_t{1} << (word % 64);
      }
      return;
    }
    for (auto t = range.begin; t != range.end; ++t) mark(terminals[t]);
  }

  // The statements of terminal range `range` (of a node whose first range is `ranges`) are to be
  // reported.
  void report(std::uint32_t ranges, std::size_t range) noexcept {
    const index_range r{policy.terminal_ranges_[ranges + range],
                        policy.terminal_ranges_[ranges + range + 1]};
    if (!marking) {
      if (kept_count < kept_ranges) {
        kept[kept_count++] = r;
        return;
      }
      marking = true;
      for (const auto& k : kept) mark_range(k);
      kept_count = 0;
    }
    mark_range(r);
  }

  void forget_reported() noexcept {
    if (marking) forget_marks();
    kept_count = 0;
  }

  /// Runs the walk, marking (once it marks) the window of statements from `begin`.
  void run_window(std::string_view resource, std::uint32_t begin) noexcept {
    window_begin = begin;
    window = static_cast<std::uint32_t>(
        std::min<std::size_t>(policy.statements_.size() - begin, compiled_policy::evaluate_window));
    run(resource);
  }

  /// Writes what the walk reported into `determining`, sorted and each once, the lowest first
  /// when they do not all fit: a few ranges merged, or the marks read back in index order, which
  /// deduplicates and sorts them without a sort. A set larger than the bitmap is walked once more
  /// per further window of statements.
  void write_out(std::string_view resource, std::span<std::uint32_t> determining,
                 verdict& v) const noexcept {
    if (!marking) return merge_kept(determining, v);
    if (!read_back(window_begin, window, determining, v)) return;
    for (auto begin = window_begin + window; begin < policy.statements_.size();) {
      walker next{policy, action, purpose};
      next.marking = true;
      next.run_window(resource, begin);
      if (!read_back(begin, next.window, determining, v)) return;
      begin += next.window;
    }
  }

  /// Writes the statements of the kept ranges into `determining`, sorted and each once, the lowest
  /// first when they do not all fit.
  void merge_kept(std::span<std::uint32_t> determining, verdict& v) const noexcept {
    const std::uint32_t* const terminals = policy.terminals_.data();
    const auto capacity = static_cast<std::uint32_t>(determining.size());
    std::uint32_t written = 0;
    if (kept_count == 1) {  // one range is sorted and unique already
      written = std::min(kept[0].size(), capacity);
      for (std::uint32_t i = 0; i < written; ++i) determining[i] = terminals[kept[0].begin + i];
      v.written = written;
      v.truncated = written < kept[0].size();
      return;
    }
    std::array<const std::uint32_t*, kept_ranges> at{};
    std::array<const std::uint32_t*, kept_ranges> end{};
    for (std::uint32_t k = 0; k < kept_count; ++k) {
      at[k] = terminals + kept[k].begin;
      end[k] = terminals + kept[k].end;
    }
    for (;;) {
      std::uint32_t lowest = std::numeric_limits<std::uint32_t>::max();
      bool left = false;
      for (std::uint32_t k = 0; k < kept_count; ++k) {
        if (at[k] != end[k]) {
          lowest = std::min(lowest, *at[k]);
          left = true;
        }
      }
      if (!left) break;
      if (written == capacity) {
        v.truncated = true;
        break;
      }
      determining[written++] = lowest;
      for (std::uint32_t k = 0; k < kept_count; ++k) {
        if (at[k] != end[k] && *at[k] == lowest) ++at[k];
      }
    }
    v.written = written;
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
    if (e.tags.empty()) return true;
    if (!segment.tagged) return false;
    if (const auto tags = sorted_tags(segment)) {
      for (auto g = e.tags.begin; g != e.tags.end; ++g) {
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
        for (auto g = e.tags.begin; g != e.tags.end; ++g) {
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

  [[gnu::always_inline]] inline void follow(const edge& e, const rn_segment& segment,
                                            std::size_t next) noexcept {
    if (!wanted(policy.nodes_[e.child])) return;
    if (!tags_match(e, segment)) return;
    walk(e.child, next);
  }

  [[gnu::always_inline]] inline void visit_terminals(const node& n) noexcept {
    const policy::action_set allow_hit = n.actions.here_allow & action;
    const policy::action_set deny_hit = n.actions.here_deny & action;
    if ((allow_hit | deny_hit) == 0) return;
    // Reporting walks have one action, so `action - 1` is the actions before it.
    if (purpose == goal::report) {
      if (deny_hit != 0) {
        if (denied == 0) forget_reported();  // the allows met so far no longer determine
        report(n.ranges,
               count_ones(n.actions.here_allow) + count_ones(n.actions.here_deny & (action - 1)));
      } else if (denied == 0) {
        report(n.ranges, count_ones(n.actions.here_allow & (action - 1)));
      }
    }
    allowed |= allow_hit;
    denied |= deny_hit;
    settle();
  }

  // The entry of `table` for `key` under node `at`, whose hash is `key_hash`, or nullptr.
  [[nodiscard]] const literal_slot* find_slot(const std::vector<literal_slot>& table,
                                              std::uint64_t mask, std::uint64_t key_hash,
                                              std::uint32_t at,
                                              std::string_view key) const noexcept {
    const auto hash = slot_hash(key_hash, at);
    for (auto i = hash & mask;; i = (i + 1) & mask) {
      const literal_slot& slot = table[i];
      if (slot.parent == literal_slot::empty) return nullptr;
      if (slot.hash == hash && slot.parent == at && same_text(text(slot.path), key)) return &slot;
    }
  }

  [[gnu::always_inline]] inline void follow_all(index_range edges, const rn_segment& segment,
                                                std::size_t level) noexcept {
    for (auto e = edges.begin; e != edges.end && !done(); ++e) {
      follow(policy.edges_[e], segment, level + 1);
    }
  }

  // Follows the edges of the literal `path` under node `at`, if there is one.
  [[gnu::always_inline]] inline void follow_literal(std::uint32_t at, const rn_segment& segment,
                                                    std::size_t level) noexcept {
    if (const auto* slot = find_slot(policy.literal_table_, policy.literal_mask_, segment.hash(),
                                     at, segment.path())) {
      follow_all(slot->edges, segment, level);
    }
  }

  // Follows every prefix glob of node `at` whose text starts the segment's path.
  [[gnu::always_inline]] inline void follow_prefixes(std::uint32_t at, const rn_segment& segment,
                                                     std::size_t level) noexcept {
    const node& n = policy.nodes_[at];
    const std::string_view path = segment.path();
    if (n.prefixes.size() > detail::crowded_prefixes) {
      return follow_crowded_prefixes(at, segment, level);
    }
    const std::uint64_t path_head = policy::first_bytes(path);
    for (auto g = n.prefixes.begin; g != n.prefixes.end && !done(); ++g) {
      const prefix_group& group = policy.prefix_groups_[g];
      if (group.text.length > path.size() || (path_head & group.mask) != group.head) continue;
      if (group.text.length > 8) {
        if (policy::first_bytes(path.substr(group.text.length - 8, 8)) != group.tail) continue;
        if (group.text.length > 16 && !path.starts_with(text(group.text))) continue;
      }
      follow_all(group.edges, segment, level);
    }
  }

  // Follows the prefix groups of crowded node `at` whose text starts the path: for each length
  // the node's texts have, the group whose text is the path's first bytes, by hash.
  [[gnu::always_inline]] inline void follow_crowded_prefixes(std::uint32_t at,
                                                             const rn_segment& segment,
                                                             std::size_t level) noexcept {
    const node& n = policy.nodes_[at];
    const std::string_view path = segment.path();
    for (auto l = n.prefix_lengths.begin; l != n.prefix_lengths.end && !done(); ++l) {
      const prefix_length& length = policy.prefix_lengths_[l];
      if (length.length > path.size()) return;
      const std::string_view key = path.substr(0, length.length);
      const std::uint64_t hash = policy::name_hash(key);
      // Most lengths hold no text that starts the path; their filter says so without a probe.
      if ((length.filter & detail::filter_bit(hash)) == 0) continue;
      if (const auto* slot = find_slot(policy.prefix_table_, policy.prefix_mask_, hash, at, key)) {
        follow_all(slot->edges, segment, level);
      }
    }
  }

  // Visits node `at`, which matched the first `level` segments.
  [[gnu::always_inline]] inline void walk(std::uint32_t at, std::size_t level) noexcept {
    const node& n = policy.nodes_[at];
    visit_terminals(n);
    descend(at, n, level);
  }

  // Follows the edges of node `at` that segment `level` of the name matches.
  void descend(std::uint32_t at, const node& n, std::size_t level) noexcept {
    if (done() || (n.actions.children & (allows_wanted | denies_wanted)) == 0 ||
        !segments->reach(level)) {
      return;
    }
    const rn_segment& segment = (*segments)[level];
    if (n.has_literals) follow_literal(at, segment, level);
    if (!n.prefixes.empty()) follow_prefixes(at, segment, level);
    for (auto e = n.globs.begin; e != n.globs.end && !done(); ++e) {
      const edge& g = policy.edges_[e];
      if (path_matches(g, segment.path())) follow(g, segment, level + 1);
    }
  }

  void run(std::string_view resource) noexcept {
    // The root holds the universal statements, which match every name, the empty one included.
    const node& root = policy.nodes_[0];
    visit_terminals(root);
    // The name is split only when some statement below the root can still change the answer.
    if (done() || resource.empty() || policy.max_depth_ == 0 ||
        (root.actions.children & (allows_wanted | denies_wanted)) == 0) {
      return;
    }
    segments.emplace(resource, split.data(), policy.max_depth_);
    descend(0, root, 0);
  }
};

decision compiled_policy::decide(policy::action_id action,
                                 std::string_view resource) const noexcept {
  walker w{*this, bit_of(action)};
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
  // One walk decides, reporting allows until it meets a deny, and denies from then on.
  verdict v;
  walker w{*this, bit_of(action), walker::goal::report};
  w.run_window(resource, 0);
  if (w.denied == 0 && w.allowed == 0) return v;  // nothing met, nothing reported
  v.decision = w.denied != 0 ? decision::explicit_deny : decision::allow;
  w.write_out(resource, determining, v);
  return v;
}

}  // namespace gatehouse::engine
