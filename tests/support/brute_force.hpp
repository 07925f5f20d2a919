// Brute-force containment: every request of a small, bounded space searched for one that one
// statement set allows and another refuses; the yardstick of the containment test and fuzzer.
#pragma once

#include <gatehouse/engine/compiled_policy.hpp>
#include <gatehouse/engine/containment.hpp>
#include <gatehouse/engine/reference.hpp>
#include <gatehouse/policy/glob.hpp>
#include <gatehouse/policy/resource_name.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gatehouse::testing {

/// The requests a brute-force search ranges over: each of `actions` on the empty resource name
/// and on every name of 1 to `max_depth` segments, each segment one of `paths` with no tag, one
/// tag or two distinct tags from `tags`.
struct request_space {
  std::vector<std::string> actions;
  std::vector<std::string> paths;
  std::vector<std::string> tags;
  std::size_t max_depth = 1;
};

/// Every string over `letters` of `min_length` to `max_length` characters, shortest first.
inline std::vector<std::string> strings_over(std::string_view letters, std::size_t min_length,
                                             std::size_t max_length) {
  std::vector<std::string> out;
  std::vector<std::string> level = {""};
  for (std::size_t length = 0; length <= max_length; ++length) {
    if (length >= min_length) out.insert(out.end(), level.begin(), level.end());
    if (length == max_length) break;
    std::vector<std::string> longer;
    for (const auto& s : level) {
      for (char c : letters) longer.push_back(s + c);
    }
    level = std::move(longer);
  }
  return out;
}

namespace brute_force_detail {

// Sets of resource patterns, and of actions, are one word.
using bits = std::uint64_t;
inline constexpr std::size_t max_members = 64;

inline bits bit(std::size_t i) { return bits{1} << i; }

// Finds an escape by walking names segment by segment. Names are not enumerated one by one: at
// each position, segments that every pattern segment there treats alike form one class; and a
// name's prefix matters to its extensions only through the actions that its complete patterns
// already allow and deny on each side and the patterns still partly matched, so prefixes that
// agree on those are one state. The search thus visits each distinct situation once, and leaves
// a state when no extension can be an escape. The reference evaluator judges every escape found
// and a sample of the other states (see `judge`); the bookkeeping must agree with it, or the
// search throws `std::logic_error`.
class escape_search {
 public:
  escape_search(std::span<const engine::sourced_statement> granted,
                std::span<const engine::sourced_statement> requested, const request_space& space)
      : sides_{granted, requested}, space_(space) {
    if (space.actions.size() > max_members) {
      throw std::length_error("brute force: more than 64 actions");
    }
    for (std::size_t side = 0; side < 2; ++side) {
      for (const auto& sourced : sides_[side]) add_statement(side, sourced.statement);
    }
  }

  std::optional<engine::request> run() {
    // Statements of resourceType "*" match every name, the empty one included.
    state start = universal_;
    start.pending = patterns_.size() == max_members ? ~bits{0} : bit(patterns_.size()) - 1;
    if (auto escape = judge(start)) return escape;
    std::vector<state> frontier = {std::move(start)};
    for (std::size_t depth = 1; depth <= space_.max_depth && !frontier.empty(); ++depth) {
      const auto classes = segment_classes(depth - 1);
      std::vector<state> next;
      std::set<std::pair<state_key, bool>> seen;
      for (const auto& from : frontier) {
        for (const auto& [key, text] : classes) {
          state to = extend(from, depth, key.first);
          to.name = depth == 1 ? text : from.name + ":" + text;
          // The empty name is not a one-segment name with an empty segment: it matches no
          // pattern at all, and was judged first. Its extensions still count.
          if (!seen.emplace(to.key(), to.name.empty()).second) continue;
          if (!to.name.empty()) {
            if (auto escape = judge(to)) return escape;
          }
          if (depth < space_.max_depth && may_escape_below(to)) next.push_back(std::move(to));
        }
      }
      frontier = std::move(next);
    }
    return std::nullopt;
  }

 private:
  // Indices of the two sides in `sides_` and in each state.
  static constexpr std::size_t granted_side = 0;
  static constexpr std::size_t requested_side = 1;
  using state_key = std::array<bits, 5>;
  static constexpr std::size_t full_check_stride = 8;

  struct state {
    // Per side, the actions of the statements that a complete pattern (or resourceType "*")
    // matches: they hold for every extension of the name.
    std::array<bits, 2> allows{};
    std::array<bits, 2> denies{};
    // Patterns that match the name so far but have more segments than it.
    bits pending = 0;
    std::string name;

    [[nodiscard]] state_key key() const {
      return {allows[granted_side], denies[granted_side], allows[requested_side],
              denies[requested_side], pending};
    }
    [[nodiscard]] bits allowed(std::size_t side) const { return allows[side] & ~denies[side]; }
  };

  // What a pattern contributes once it matches.
  struct pattern_info {
    std::vector<policy::segment_pattern> segments;
    std::size_t side = 0;
    bool allow = true;
    bits actions = 0;
  };

  void add_statement(std::size_t side, const policy::statement& s) {
    const bool allow = s.effect == policy::effect::allow;
    // resourceType "*" consults neither actions nor resources.
    const bool universal = s.resource_type == "*";
    bits actions = 0;
    for (std::size_t a = 0; a < space_.actions.size(); ++a) {
      if (universal) actions |= bit(a);
      for (const auto& action : s.actions) {
        if (action == policy::any_action || action == space_.actions[a]) actions |= bit(a);
      }
    }
    if (universal) {
      (allow ? universal_.allows : universal_.denies)[side] |= actions;
      return;
    }
    for (const auto& resource : s.resources) {
      // Segments and tags as the engine parses them; the reference evaluator splits the text
      // itself, and judging against it checks that the two agree.
      auto parsed = policy::parse_resource_pattern(resource);
      if (!parsed)
        throw std::invalid_argument("brute force: a pattern does not parse: " + resource);
      if (patterns_.size() == max_members) {
        throw std::length_error("brute force: more than 64 resource patterns");
      }
      patterns_.push_back({std::move(parsed->segments), side, allow, actions});
    }
  }

  // `from` extended by a segment at position `depth - 1` that matches the pattern segments of
  // `matches` there.
  [[nodiscard]] state extend(const state& from, std::size_t depth, bits matches) const {
    state to;
    to.allows = from.allows;
    to.denies = from.denies;
    for (std::size_t p = 0; p < patterns_.size(); ++p) {
      if ((from.pending & matches & bit(p)) == 0) continue;
      const auto& info = patterns_[p];
      if (info.segments.size() > depth) {
        to.pending |= bit(p);
      } else {
        (info.allow ? to.allows : to.denies)[info.side] |= info.actions;
      }
    }
    return to;
  }

  // Whether an extension of `s` may be an escape: an action that the requested side may still
  // allow there and that the granted side is not sure to allow. Allows and denies of complete
  // patterns hold below; pending patterns may add to them.
  [[nodiscard]] bool may_escape_below(const state& s) const {
    std::array<bits, 2> may_allow = s.allows;
    std::array<bits, 2> may_deny = s.denies;
    for (std::size_t p = 0; p < patterns_.size(); ++p) {
      if ((s.pending & bit(p)) == 0) continue;
      const auto& info = patterns_[p];
      (info.allow ? may_allow : may_deny)[info.side] |= info.actions;
    }
    const bits requested_may_allow = may_allow[requested_side] & ~s.denies[requested_side];
    const bits granted_sure_to_allow = s.allows[granted_side] & ~may_deny[granted_side];
    return (requested_may_allow & ~granted_sure_to_allow) != 0;
  }

  // The escape at `s`'s name, if there is one. The reference evaluator judges every escape the
  // bookkeeping finds, and every `full_check_stride`-th state on every action, so that the
  // bookkeeping is held to it throughout at a fraction of the cost of judging every state.
  std::optional<engine::request> judge(const state& s) {
    const bits escapes = s.allowed(requested_side) & ~s.allowed(granted_side);
    const bool full_check = judged_++ % full_check_stride == 0;
    if (escapes == 0 && !full_check) return std::nullopt;
    std::optional<engine::request> escape;
    for (std::size_t a = 0; a < space_.actions.size(); ++a) {
      if ((escapes & bit(a)) == 0 && !full_check) continue;
      const std::string& action = space_.actions[a];
      std::array<bool, 2> allowed{};
      for (std::size_t side = 0; side < 2; ++side) {
        allowed[side] = engine::reference::evaluate(sides_[side], action, s.name).decision ==
                        engine::decision::allow;
        if (allowed[side] != ((s.allowed(side) & bit(a)) != 0)) {
          throw std::logic_error("brute force: its bookkeeping disagrees with the reference " +
                                 std::string("evaluator on ") + action + " \"" + s.name + "\"");
        }
      }
      if (!escape && allowed[requested_side] && !allowed[granted_side]) {
        escape = engine::request{action, s.name};
      }
    }
    return escape;
  }

  // The segments of the space at `position`, one per class of segments that every pattern
  // segment at that position matches alike: the patterns it keeps alive, whether it is empty, and
  // one member.
  using segment_class = std::pair<std::pair<bits, bool>, std::string>;
  [[nodiscard]] std::vector<segment_class> segment_classes(std::size_t position) const {
    // Each distinct glob is matched once per text; `users` says which patterns use it.
    struct glob_users {
      std::string_view glob;
      bits users = 0;
    };
    std::vector<glob_users> path_globs;
    std::vector<glob_users> tag_globs;
    auto use = [](std::vector<glob_users>& globs, std::string_view glob, std::size_t p) {
      auto it = std::find_if(globs.begin(), globs.end(), [&](auto& g) { return g.glob == glob; });
      if (it == globs.end()) it = globs.insert(it, {glob, 0});
      it->users |= bit(p);
    };
    bits untagged = 0;
    for (std::size_t p = 0; p < patterns_.size(); ++p) {
      if (patterns_[p].segments.size() <= position) continue;
      const auto& segment = patterns_[p].segments[position];
      use(path_globs, segment.path, p);
      if (segment.tags.empty()) untagged |= bit(p);
      for (const auto& tag : segment.tags) use(tag_globs, tag, p);
    }
    auto matched_by = [](const std::vector<glob_users>& globs, std::string_view text) {
      bits out = 0;
      for (const auto& g : globs) {
        if (policy::glob_match(g.glob, text)) out |= g.users;
      }
      return out;
    };

    // Paths by the patterns whose path glob they match; an empty path is kept apart, since a
    // name made of it alone is the empty name.
    std::map<std::pair<bits, bool>, std::string_view> paths;
    for (const auto& path : space_.paths) {
      paths.try_emplace({matched_by(path_globs, path), path.empty()}, path);
    }
    // Tag lists by the patterns whose tag condition they meet: those without tags here, and
    // those with a tag glob that one of the list's tags matches. No tags comes first. Pairs of
    // tags that match alike add nothing, so tags are paired only across classes of single tags.
    std::map<bits, std::string_view> tags;
    for (const auto& tag : space_.tags) tags.try_emplace(matched_by(tag_globs, tag), tag);
    std::map<bits, std::string> tag_lists = {{untagged, ""}};
    for (auto t = tags.begin(); t != tags.end(); ++t) {
      tag_lists.try_emplace(untagged | t->first, ";" + std::string(t->second));
      for (auto u = std::next(t); u != tags.end(); ++u) {
        if (tag_lists.contains(untagged | t->first | u->first)) continue;
        tag_lists.emplace(untagged | t->first | u->first,
                          ";" + std::string(t->second) + "," + std::string(u->second));
      }
    }

    std::map<std::pair<bits, bool>, std::string> classes;
    for (const auto& [path_key, path] : paths) {
      for (const auto& [tags_met, tag_list] : tag_lists) {
        const std::pair key{path_key.first & tags_met, path.empty() && tag_list.empty()};
        if (!classes.contains(key)) classes.emplace(key, std::string(path) + tag_list);
      }
    }
    return {classes.begin(), classes.end()};
  }

  // Granted, then requested.
  std::array<std::span<const engine::sourced_statement>, 2> sides_;
  const request_space& space_;
  std::vector<pattern_info> patterns_;
  // What statements of resourceType "*" allow and deny on every name.
  state universal_;
  std::size_t judged_ = 0;
};

}  // namespace brute_force_detail

/// A request of `space` that `requested` allows and `granted` does not, by the reference
/// evaluator, or none when `granted` allows everything of `space` that `requested` allows.
/// Throws `std::invalid_argument` on a pattern that does not parse, and `std::length_error`
/// beyond 64 resource patterns or 64 actions.
inline std::optional<engine::request> find_escape(
    std::span<const engine::sourced_statement> granted,
    std::span<const engine::sourced_statement> requested, const request_space& space) {
  return brute_force_detail::escape_search(granted, requested, space).run();
}

}  // namespace gatehouse::testing
