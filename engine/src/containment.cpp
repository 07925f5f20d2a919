// Containment by candidate requests: a finite set of requests that holds a counterexample
// whenever one exists, each checked on the two compiled structures. See containment.md. Every
// loop here is bounded by the work budget, and none of them recurses.
#include <gatehouse/engine/containment.hpp>

#include <gatehouse/policy/error_category.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <string>
#include <unordered_map>
#include <vector>

namespace gatehouse::engine {

namespace {

std::string_view describe(containment_errc e) noexcept {
  switch (e) {
    case containment_errc::too_complex:
      return "the statements need more work to compare than the containment budget allows";
  }
  return "unknown containment error";
}

}  // namespace

const boost::system::error_category& containment_category() noexcept {
  static const policy::enum_category<containment_errc, describe> instance("gatehouse.containment");
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

// What one work unit is: an intersection step, or a byte of a glob component or of a candidate
// resource name (a candidate costs what its two walks cost, which is about its length).
class work_budget {
 public:
  explicit work_budget(std::size_t limit) : left_(limit) {}
  /// Spends `units`; false once the budget is gone, and from then on.
  bool spend(std::size_t units) noexcept {
    if (exhausted_ || units > left_) {
      exhausted_ = true;
      return false;
    }
    left_ -= units;
    return true;
  }
  [[nodiscard]] bool exhausted() const noexcept { return exhausted_; }

 private:
  std::size_t left_;
  bool exhausted_ = false;
};

// The globs whose languages together are exactly L(a) ∩ L(b) (containment.md), by aligning
// the two from the left: two literals must agree; a star against a literal either ends or
// swallows that literal; two stars give `*·(a' ∩ *b') ∪ *·(*a' ∩ b')`. The alignment is a
// depth-first walk over (position in a, position in b) with an explicit stack, in the order the
// recursive definition reads.
class glob_intersection {
 public:
  glob_intersection(std::string_view a, std::string_view b, work_budget& budget)
      : a_(a), b_(b), budget_(budget), a_stars_(stars_to_end(a)), b_stars_(stars_to_end(b)) {}

  std::vector<std::string> run() {
    std::vector<std::string> out;
    std::string prefix;
    stack_.push_back({0, 0, 0, '\0'});
    while (!stack_.empty()) {
      const frame f = stack_.back();
      stack_.pop_back();
      if (!budget_.spend(1)) return {};
      prefix.resize(f.prefix_size);
      if (f.append != '\0') prefix += f.append;
      step(f.i, f.j, prefix, out);
    }
    return out;
  }

 private:
  struct frame {
    std::size_t i;  // position in a
    std::size_t j;  // position in b
    std::size_t prefix_size;
    char append;  // appended to the prefix before this frame is aligned, or '\0'
  };

  // stars[i]: whether `glob` from i to its end is all stars (the empty rest included).
  static std::vector<bool> stars_to_end(std::string_view glob) {
    std::vector<bool> stars(glob.size() + 1, true);
    for (std::size_t i = glob.size(); i-- > 0;) stars[i] = glob[i] == '*' && stars[i + 1];
    return stars;
  }

  // Pushes the continuations of a[i..] ∩ b[j..] after `prefix`, the last to be aligned first.
  void step(std::size_t i, std::size_t j, const std::string& prefix,
            std::vector<std::string>& out) {
    if (i == a_.size() || j == b_.size()) {
      if (a_stars_[i] && b_stars_[j] && budget_.spend(prefix.size())) out.push_back(prefix);
      return;
    }
    const std::size_t size = prefix.size();
    const char x = a_[i];
    const char y = b_[j];
    if (x != '*' && y != '*') {
      if (x == y) stack_.push_back({i + 1, j + 1, size, x});
    } else if (x == '*' && y == '*') {
      stack_.push_back({i, j + 1, size, '*'});
      stack_.push_back({i + 1, j, size, '*'});
    } else if (x == '*') {
      stack_.push_back({i, j + 1, size, y});     // the star swallows b's next character
      stack_.push_back({i + 1, j, size, '\0'});  // the star matches nothing more
    } else {
      stack_.push_back({i + 1, j, size, x});
      stack_.push_back({i, j + 1, size, '\0'});
    }
  }

  std::string_view a_;
  std::string_view b_;
  work_budget& budget_;
  std::vector<bool> a_stars_;
  std::vector<bool> b_stars_;
  std::vector<frame> stack_;
};

class candidate_search {
 public:
  candidate_search(const compiled_policy& granted, const compiled_policy& requested,
                   containment_limits limits)
      : granted_(granted), requested_(requested), budget_(limits.max_work) {}

  /// Searches on after the first counterexample: every action of `wanted` that some request
  /// shows `requested` allowing beyond `granted`. Each pattern is expanded only until all of
  /// its wanted actions are found.
  candidate_search& collecting(action_set wanted) noexcept {
    collect_ = true;
    wanted_ = wanted;
    return *this;
  }
  [[nodiscard]] action_set collected() const noexcept { return collected_ & wanted_; }
  [[nodiscard]] std::vector<request> take_witnesses() noexcept { return std::move(witnesses_); }
  [[nodiscard]] bool out_of_work() const noexcept { return budget_.exhausted(); }

  boost::system::result<containment> run() {
    for (const auto& s : requested_.statements()) {
      if (denies_everything(s)) return containment{true, {}};
    }
    if (!pick_fresh_character()) return containment_errc::too_complex;
    find_tagged_depths();

    // Statements that share a pattern are one pattern with the union of their actions.
    const auto allows = merged(requested_, policy::effect::allow);
    const auto denies = merged(granted_, policy::effect::deny);
    const bool granted_denies_everything =
        std::any_of(granted_.statements().begin(), granted_.statements().end(),
                    [](const compiled_statement& s) { return denies_everything(s); });
    const deny_index index(denies);
    std::vector<std::size_t> meeting;
    for (const auto& [pattern, all_actions] : allows) {
      const action_set actions = still_wanted(all_actions);
      if (actions == 0) continue;
      // A request of `pattern` that no allow of `granted` covers, or that a universal deny of
      // `granted` refuses.
      if (try_pattern(actions, *pattern, nullptr) && !collect_) return found();
      if (granted_denies_everything) continue;
      // A request of `pattern` that a deny of `granted` refuses.
      index.may_meet(pattern->segments.front().path, meeting);
      for (const std::size_t d : meeting) {
        const auto& [denied, denied_actions] = denies[d];
        if (!budget_.spend(1)) return containment_errc::too_complex;
        const action_set shared = actions & denied_actions;
        if (shared == 0 || !may_overlap(*pattern, *denied)) continue;
        if (try_pattern(shared, *pattern, denied) && !collect_) return found();
      }
      if (budget_.exhausted()) return containment_errc::too_complex;
    }
    // A universal statement also reaches the empty resource name, which no pattern matches; it
    // is tried last, so that a counterexample names a resource whenever one exists.
    for (const auto& s : requested_.statements()) {
      if (s.universal && s.effect == policy::effect::allow && still_wanted(s.actions) != 0 &&
          try_request(still_wanted(s.actions), {}) && !collect_) {
        return found();
      }
    }
    if (budget_.exhausted()) return containment_errc::too_complex;
    return containment{true, {}};
  }

 private:
  static bool denies_everything(const compiled_statement& s) noexcept {
    return s.universal && s.effect == policy::effect::deny && s.actions == policy::all_actions;
  }

  containment found() const { return containment{false, counterexample_}; }

  // The actions of `actions` the search still looks for: all of them, unless collecting.
  action_set still_wanted(action_set actions) const noexcept {
    return collect_ ? actions & wanted_ & ~collected_ : actions;
  }

  // The depths at which a tag can change a verdict: where a pattern of `granted`, or a deny of
  // `requested`, has tags. Elsewhere every tag choice of a requested allow gives the same two
  // verdicts (a segment pattern without tags ignores tags; other requested allows only add), so
  // one choice stands for all of them, and a token with many tags per segment is not checked
  // once per combination.
  void find_tagged_depths() {
    const auto mark = [&](const compiled_statement& s) {
      for (const auto& p : s.patterns) {
        for (std::size_t i = 0; i < p.segments.size(); ++i) {
          if (!p.segments[i].tags.empty()) tagged_depths_[i] = true;
        }
      }
    };
    for (const auto& s : granted_.statements()) mark(s);
    for (const auto& s : requested_.statements()) {
      if (s.effect == policy::effect::deny) mark(s);
    }
  }

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

  // The literal text of `glob` before its first star (all of it when it has none).
  static std::string_view head_of(std::string_view glob) noexcept {
    return glob.substr(0, glob.find('*'));
  }

  // The denies by the literal head of their first segment, so that an allow pattern meets only
  // those that can share a name with it rather than every one: two globs share a string only if
  // one's head starts the other's.
  class deny_index {
   public:
    explicit deny_index(const pattern_actions& denies) {
      for (std::size_t i = 0; i < denies.size(); ++i) {
        by_head_.push_back({head_of(denies[i].first->segments.front().path), i});
        head_sizes_.push_back(by_head_.back().first.size());
      }
      std::sort(by_head_.begin(), by_head_.end());
      std::sort(head_sizes_.begin(), head_sizes_.end());
      head_sizes_.erase(std::unique(head_sizes_.begin(), head_sizes_.end()), head_sizes_.end());
    }

    /// Into `out`, ascending: the denies whose first segment may share a path with `path`: those
    /// whose head starts `path`'s head, and, when `path` has a star after its head, those whose
    /// head its head starts.
    void may_meet(std::string_view path, std::vector<std::size_t>& out) const {
      out.clear();
      const std::string_view head = head_of(path);
      const auto by_text = [](const entry& e, std::string_view key) { return e.first < key; };
      const auto text_by = [](std::string_view key, const entry& e) { return key < e.first; };
      for (const std::size_t size : head_sizes_) {
        if (size > head.size()) break;
        const auto key = head.substr(0, size);
        const auto first = std::lower_bound(by_head_.begin(), by_head_.end(), key, by_text);
        const auto last = std::upper_bound(first, by_head_.end(), key, text_by);
        for (auto it = first; it != last; ++it) out.push_back(it->second);
      }
      if (head.size() < path.size()) {
        // Heads that this head starts, longer than it: they follow it in order.
        auto it = std::upper_bound(by_head_.begin(), by_head_.end(), head, text_by);
        for (; it != by_head_.end() && it->first.starts_with(head); ++it) out.push_back(it->second);
      }
      std::sort(out.begin(), out.end());
    }

   private:
    using entry = std::pair<std::string_view, std::size_t>;

    std::vector<entry> by_head_;
    std::vector<std::size_t> head_sizes_;
  };

  // The patterns of `side`'s statements of effect `e`, each once, with the union of the actions
  // of the statements that hold it; a universal statement counts as the pattern `*` on its
  // actions.
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
        add(everything, s.actions);
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

  std::vector<std::string> path_instances(std::string_view a, std::string_view b) {
    std::vector<std::string> out = glob_intersection(a, b, budget_).run();
    for (auto& g : out) g = instantiate(g);
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
          if (budget_.exhausted()) return c;
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
      if (budget_.exhausted()) return false;
      auto& tag_sets = choices.back().tag_sets;
      if (choices.back().paths.empty() || tag_sets.empty()) return false;
      if (!tagged_depths_[i]) tag_sets.resize(1);
    }
    return expand(actions, choices);
  }

  // Tries every combination of one path and one tag set per segment, counting through them as an
  // odometer: the last segment turns fastest.
  bool expand(action_set actions, const std::vector<segment_choice>& choices) {
    const std::size_t depth = choices.size();
    std::vector<std::size_t> path_at(depth, 0);
    std::vector<std::size_t> tags_at(depth, 0);
    std::vector<candidate_segment> rn(depth);
    for (;;) {
      for (std::size_t s = 0; s < depth; ++s) {
        rn[s].path = choices[s].paths[path_at[s]];
        rn[s].tags = choices[s].tag_sets[tags_at[s]];
      }
      if (try_request(actions, rn)) return true;
      if (budget_.exhausted()) return false;
      std::size_t s = depth;
      for (; s-- > 0;) {
        if (++tags_at[s] < choices[s].tag_sets.size()) break;
        tags_at[s] = 0;
        if (++path_at[s] < choices[s].paths.size()) break;
        path_at[s] = 0;
      }
      if (s == static_cast<std::size_t>(-1)) return false;  // every combination was tried
    }
  }

  // Checks one candidate resource name for every action of `actions` at once.
  bool try_request(action_set actions, const std::vector<candidate_segment>& rn) {
    std::string resource;
    for (std::size_t i = 0; i < rn.size(); ++i) {
      if (i > 0) resource += ':';
      resource += rn[i].path;
      for (std::size_t t = 0; t < rn[i].tags.size(); ++t) {
        resource += t == 0 ? ';' : ',';
        resource += rn[i].tags[t];
      }
    }
    if (!budget_.spend(walk_cost * rn.size() + resource.size())) return false;
    const action_set gap = requested_.allowed_actions(actions, resource) &
                           ~granted_.allowed_actions(actions, resource);
    if (gap == 0) return false;
    if (collect_) {
      for (action_set fresh = gap & ~collected_; fresh != 0; fresh &= fresh - 1) {
        const auto action = static_cast<action_id>(std::countr_zero(fresh));
        witnesses_.push_back({std::string(policy::action_name(action)), resource});
      }
      collected_ |= gap;
      return (actions & ~collected_) == 0;
    }
    const auto action = static_cast<action_id>(std::countr_zero(gap));
    counterexample_ = request{std::string(policy::action_name(action)), std::move(resource)};
    return true;
  }

  /// A candidate's cost per segment, beside its length: the two walks meet nodes level by level.
  static constexpr std::size_t walk_cost = 32;

  const compiled_policy& granted_;
  const compiled_policy& requested_;
  work_budget budget_;
  std::array<bool, policy::max_pattern_segments> tagged_depths_{};
  char fresh_ = '#';
  request counterexample_;
  bool collect_ = false;
  action_set wanted_ = 0;
  action_set collected_ = 0;
  std::vector<request> witnesses_;
};

}  // namespace

boost::system::result<containment> contains(const compiled_policy& granted,
                                            const compiled_policy& requested,
                                            containment_limits limits) {
  return candidate_search(granted, requested, limits).run();
}

action_witnesses beyond(const compiled_policy& granted, const compiled_policy& requested,
                        action_set of_interest, containment_limits limits) {
  candidate_search search(granted, requested, limits);
  search.collecting(of_interest);
  const auto finished = search.run();
  action_witnesses out{search.collected(), finished.has_value() && !search.out_of_work(),
                       search.take_witnesses()};
  std::sort(out.witnesses.begin(), out.witnesses.end(), [](const request& a, const request& b) {
    return policy::find_action(a.action) < policy::find_action(b.action);
  });
  return out;
}

action_witnesses allowed_somewhere(const compiled_policy& p, action_set of_interest,
                                   containment_limits limits) {
  static const auto nothing = compiled_policy::compile({});
  return beyond(**nothing, p, of_interest, limits);
}

}  // namespace gatehouse::engine
