// Deciding requests: one walk over the compiled trie per request, following only the branches
// that can still decide its action; `decide`, `allowed_actions` and `evaluate` are its three
// uses.
#include <gatehouse/engine/compiled_policy.hpp>

#include "flat_layout.hpp"
#include "request_name.hpp"

#include <gatehouse/policy/glob.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <optional>
#include <span>
#include <string_view>

namespace gatehouse::engine {
namespace {

using detail::bit_of;
using detail::rn_segment;
using detail::slot_hash;
using detail::sorted_tag;

// The tags of the request's segments, sorted as the walk first needs them, so that a literal or
// prefix tag glob is a binary search however many tags a name carries. One per thread: a walk
// never starts another on its thread. A name within the request limit always fits.
struct tag_scratch {
  std::array<sorted_tag, policy::max_request_resource_bytes / 2 + 1> tags;
};
thread_local tag_scratch scratch;

}  // namespace

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

  void follow(const edge& e, const rn_segment& segment, std::size_t next) noexcept {
    if ((policy.nodes_[e.child].actions.below & action) == 0) return;
    if (!tags_match(e, segment)) return;
    walk(e.child, next);
  }

  void visit_terminals(std::uint32_t at) noexcept {
    const node& n = policy.nodes_[at];
    const policy::action_set allow_hit = n.actions.here_allow & action;
    const policy::action_set deny_hit = n.actions.here_deny & action;
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
        for (auto e = slot.edges.begin; e != slot.edges.end && !done(); ++e) {
          follow(policy.edges_[e], segment, level + 1);
        }
        return;
      }
    }
  }

  // Follows every prefix glob of node `n` whose text starts the segment's path.
  void follow_prefixes(const node& n, const rn_segment& segment, std::size_t level) noexcept {
    const std::string_view path = segment.path();
    if (n.prefixes.size() > crowded_prefixes) {
      return follow_crowded_prefixes(n, segment, level);
    }
    const std::uint64_t path_head = policy::first_bytes(path);
    for (auto g = n.prefixes.begin; g != n.prefixes.end && !done(); ++g) {
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
    const auto first = policy.prefix_groups_.begin() + n.prefixes.begin;
    const auto last = policy.prefix_groups_.begin() + n.prefixes.end;
    for (auto l = n.prefix_lengths.begin; l != n.prefix_lengths.end && !done(); ++l) {
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
    for (auto e = group.edges.begin; e != group.edges.end && !done(); ++e) {
      follow(policy.edges_[e], segment, level + 1);
    }
  }

  // Visits node `at`, which matched the first `level` segments.
  void walk(std::uint32_t at, std::size_t level) noexcept {
    visit_terminals(at);
    const node& n = policy.nodes_[at];
    if (done() || level == depth || (n.actions.children & action) == 0) return;
    const rn_segment& segment = segments[level];
    if (n.has_literals) follow_literal(at, segment, level);
    if (!n.prefixes.empty()) follow_prefixes(n, segment, level);
    for (auto e = n.globs.begin; e != n.globs.end && !done(); ++e) {
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
    depth = detail::split_segments(resource, std::span(segments.data(), policy.max_depth_));
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
