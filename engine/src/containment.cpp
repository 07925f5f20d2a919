// Containment by candidate requests: a finite set of requests that holds a counterexample
// whenever one exists, each checked on the two compiled structures. See containment.md.
#include <gatehouse/engine/containment.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <string>
#include <unordered_map>
#include <vector>

namespace gatehouse::engine {

const boost::system::error_category& containment_category() noexcept {
  struct category final : boost::system::error_category {
    const char* name() const noexcept override { return "gatehouse.containment"; }
    std::string message(int code) const override {
      switch (static_cast<containment_errc>(code)) {
        case containment_errc::too_complex:
          return "the statements need more candidate requests than the containment limit allows";
      }
      return "unknown containment error";
    }
  };
  static const category instance;
  return instance;
}

namespace {

using policy::action_id;
using policy::action_set;

// One segment of a candidate resource name, already concrete.
struct candidate_segment {
  std::string path;
  std::vector<std::string> tags;
};

// A segment pattern as a family of concrete segments: its path glob and the tag shape.
struct segment_choice {
  std::vector<std::string> paths;  // concrete path instances, one per glob component
  std::vector<std::vector<std::string>> tag_sets;  // concrete tag sets, one per tag shape
};

class candidate_search {
 public:
  candidate_search(const compiled_policy& granted, const compiled_policy& requested,
                   containment_limits limits)
      : granted_(granted), requested_(requested), limits_(limits) {}

  boost::system::result<containment> run() {
    for (const auto& s : requested_.statements()) {
      if (s.universal && s.effect == policy::effect::deny) return containment{true, {}};
    }
    if (!pick_fresh_character()) return containment_errc::too_complex;

    // Statements that share a pattern are one pattern with the union of their actions.
    const auto allows = merged(requested_, policy::effect::allow);
    const auto denies = merged(granted_, policy::effect::deny);
    bool granted_denies_everything = false;
    for (const auto& s : granted_.statements()) {
      granted_denies_everything |= s.universal && s.effect == policy::effect::deny;
    }
    for (const auto& s : requested_.statements()) {
      // resourceType "*" also reaches the empty resource name, which no pattern matches.
      if (s.universal && s.effect == policy::effect::allow && try_request(s.actions, {})) {
        return found();
      }
    }

    for (const auto& [pattern, actions] : allows) {
      // A request of `pattern` that no allow of `granted` covers, or that a universal deny of
      // `granted` refuses.
      if (try_pattern(actions, *pattern, nullptr)) return found();
      if (granted_denies_everything) continue;
      // A request of `pattern` that a deny of `granted` refuses.
      for (const auto& [denied, denied_actions] : denies) {
        const action_set shared = actions & denied_actions;
        if (shared == 0 || !may_overlap(*pattern, *denied)) continue;
        if (try_pattern(shared, *pattern, denied)) return found();
      }
      if (exhausted_) return containment_errc::too_complex;
    }
    if (exhausted_) return containment_errc::too_complex;
    return containment{true, {}};
  }

 private:
  containment found() const { return containment{false, counterexample_}; }

  // Picks a character that no pattern of either side contains: a path or tag instantiated with
  // it is matched by another glob only through that glob's `*` (containment.md, lemma 1).
  bool pick_fresh_character() {
    std::array<bool, 256> used{};
    auto mark = [&](std::string_view text) {
      for (unsigned char c : text) used[c] = true;
    };
    for (const auto* side : {&granted_, &requested_}) {
      for (const auto& s : side->statements()) {
        for (const auto& p : s.patterns) {
          for (const auto& seg : p.segments) {
            mark(seg.path);
            for (const auto& t : seg.tags) mark(t);
          }
        }
      }
    }
    for (unsigned char c : std::string_view("#~!@$%^&+=_-.0123456789")) {
      if (!used[c]) {
        fresh_ = static_cast<char>(c);
        return true;
      }
    }
    for (int c = 0x21; c < 0x7f; ++c) {
      if (!used[c] && c != ':' && c != ';' && c != ',' && c != '*') {
        fresh_ = static_cast<char>(c);
        return true;
      }
    }
    return false;
  }

  using pattern_actions = std::vector<std::pair<const policy::resource_pattern*, action_set>>;

  // The patterns of `side`'s statements of effect `e`, each once, with the union of the actions
  // of the statements that hold it; resourceType "*" counts as the pattern `*` on every action.
  static pattern_actions merged(const compiled_policy& side, policy::effect e) {
    static const policy::resource_pattern everything{{{"*", {}}}};
    pattern_actions out;
    std::unordered_map<std::string, std::size_t> index;
    auto add = [&](const policy::resource_pattern& p, action_set actions) {
      const auto [it, inserted] = index.try_emplace(policy::to_string(p), out.size());
      if (inserted) {
        out.emplace_back(&p, actions);
      } else {
        out[it->second].second |= actions;
      }
    };
    for (const auto& s : side.statements()) {
      if (s.effect != e) continue;
      if (s.universal) {
        add(everything, policy::all_actions);
        continue;
      }
      for (const auto& p : s.patterns) add(p, s.actions);
    }
    return out;
  }

  // A cheap necessary condition for two globs to share a string: the literal text before their
  // first star agrees as far as both go, and so does the text after their last star.
  static bool globs_may_overlap(std::string_view a, std::string_view b) noexcept {
    constexpr auto npos = std::string_view::npos;
    const auto a_star = a.find('*');
    const auto b_star = b.find('*');
    if (a_star == npos && b_star == npos) return a == b;
    const auto a_head = a.substr(0, a_star);
    const auto b_head = b.substr(0, b_star);
    const auto head = std::min(a_head.size(), b_head.size());
    if (a_head.substr(0, head) != b_head.substr(0, head)) return false;
    const auto a_tail = a_star == npos ? a : a.substr(a.rfind('*') + 1);
    const auto b_tail = b_star == npos ? b : b.substr(b.rfind('*') + 1);
    const auto tail = std::min(a_tail.size(), b_tail.size());
    return a_tail.substr(a_tail.size() - tail) == b_tail.substr(b_tail.size() - tail);
  }

  static bool may_overlap(const policy::resource_pattern& a, const policy::resource_pattern& b) {
    const auto n = std::min(a.segments.size(), b.segments.size());
    for (std::size_t i = 0; i < n; ++i) {
      if (!globs_may_overlap(a.segments[i].path, b.segments[i].path)) return false;
    }
    return true;
  }

  std::string instantiate(std::string_view glob) const {
    std::string out;
    for (char c : glob) {
      if (c != '*') {
        out += c;
      } else if (out.empty() || out.back() != fresh_) {
        out += fresh_;
      }
    }
    return out;
  }

  // Adds to `out` globs whose languages together are exactly L(a) ∩ L(b) (containment.md).
  void intersect(std::string_view a, std::string_view b, std::string& prefix,
                 std::vector<std::string>& out) {
    if (++work_ > limits_.max_candidates) {
      exhausted_ = true;
      return;
    }
    auto all_stars = [](std::string_view s) {
      return s.find_first_not_of('*') == std::string_view::npos;
    };
    if (a.empty() || b.empty()) {
      if (all_stars(a) && all_stars(b)) out.push_back(prefix);
      return;
    }
    const auto size = prefix.size();
    if (a[0] != '*' && b[0] != '*') {
      if (a[0] != b[0]) return;
      prefix += a[0];
      intersect(a.substr(1), b.substr(1), prefix, out);
    } else if (a[0] == '*' && b[0] == '*') {
      prefix += '*';
      intersect(a.substr(1), b, prefix, out);
      intersect(a, b.substr(1), prefix, out);
    } else {
      if (b[0] == '*') std::swap(a, b);
      intersect(a.substr(1), b, prefix, out);  // the star matches nothing more
      prefix += b[0];                          // the star swallows b's next character
      intersect(a, b.substr(1), prefix, out);
    }
    prefix.resize(size);
  }

  std::vector<std::string> path_instances(std::string_view a, std::string_view b) {
    std::vector<std::string> globs;
    std::string prefix;
    intersect(a, b, prefix, globs);
    std::vector<std::string> out;
    for (const auto& g : globs) out.push_back(instantiate(g));
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  segment_choice single(const policy::segment_pattern& s) const {
    segment_choice c{{instantiate(s.path)}, {}};
    if (s.tags.empty()) c.tag_sets.emplace_back();
    for (const auto& t : s.tags) c.tag_sets.push_back({instantiate(t)});
    return c;
  }

  // The minimal segments in both `a` and `b`: a path in both globs, and either no tags, one
  // tag meeting both tag conditions, or one tag for each.
  segment_choice both(const policy::segment_pattern& a, const policy::segment_pattern& b) {
    segment_choice c{path_instances(a.path, b.path), {}};
    if (c.paths.empty()) return c;
    if (a.tags.empty() && b.tags.empty()) {
      c.tag_sets.emplace_back();
    } else if (a.tags.empty() || b.tags.empty()) {
      for (const auto& t : a.tags.empty() ? b.tags : a.tags) c.tag_sets.push_back({instantiate(t)});
    } else {
      for (const auto& t : a.tags) {
        for (const auto& u : b.tags) {
          for (auto& tag : path_instances(t, u)) c.tag_sets.push_back({std::move(tag)});
          c.tag_sets.push_back({instantiate(t), instantiate(u)});
        }
      }
    }
    return c;
  }

  // Tries every minimal request of `pattern` (and of `denied`, when given) with an action of
  // `actions`.
  bool try_pattern(action_set actions, const policy::resource_pattern& pattern,
                   const policy::resource_pattern* denied) {
    const auto& p = pattern.segments;
    const std::size_t depth = denied ? std::max(p.size(), denied->segments.size()) : p.size();
    std::vector<segment_choice> choices;
    for (std::size_t i = 0; i < depth; ++i) {
      const bool in_p = i < p.size();
      const bool in_d = denied && i < denied->segments.size();
      choices.push_back(in_p && in_d ? both(p[i], denied->segments[i])
                                     : single(in_p ? p[i] : denied->segments[i]));
      if (choices.back().paths.empty() || choices.back().tag_sets.empty()) return false;
    }
    std::vector<candidate_segment> rn(depth);
    return expand(actions, choices, 0, rn);
  }

  bool expand(action_set actions, const std::vector<segment_choice>& choices, std::size_t at,
              std::vector<candidate_segment>& rn) {
    if (exhausted_) return false;
    if (at == choices.size()) return try_request(actions, rn);
    for (const auto& path : choices[at].paths) {
      for (const auto& tags : choices[at].tag_sets) {
        rn[at] = {path, tags};
        if (expand(actions, choices, at + 1, rn)) return true;
      }
    }
    return false;
  }

  // Checks one candidate resource name for every action of `actions` at once.
  bool try_request(action_set actions, const std::vector<candidate_segment>& rn) {
    if (++work_ > limits_.max_candidates) {
      exhausted_ = true;
      return false;
    }
    std::string resource;
    for (std::size_t i = 0; i < rn.size(); ++i) {
      if (i > 0) resource += ':';
      resource += rn[i].path;
      for (std::size_t t = 0; t < rn[i].tags.size(); ++t) {
        resource += t == 0 ? ';' : ',';
        resource += rn[i].tags[t];
      }
    }
    const action_set gap = requested_.allowed_actions(actions, resource) &
                           ~granted_.allowed_actions(actions, resource);
    if (gap == 0) return false;
    const auto action = static_cast<action_id>(std::countr_zero(gap));
    counterexample_ = request{std::string(policy::action_name(action)), std::move(resource)};
    return true;
  }

  const compiled_policy& granted_;
  const compiled_policy& requested_;
  containment_limits limits_;
  char fresh_ = '#';
  std::size_t work_ = 0;
  bool exhausted_ = false;
  request counterexample_;
};

}  // namespace

boost::system::result<containment> contains(const compiled_policy& granted,
                                            const compiled_policy& requested,
                                            containment_limits limits) {
  return candidate_search(granted, requested, limits).run();
}

}  // namespace gatehouse::engine
