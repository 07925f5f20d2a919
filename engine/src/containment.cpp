// Containment by candidate requests: a finite set of requests that holds a counterexample
// whenever one exists, each checked on the two compiled structures. See containment.md.
#include <gatehouse/engine/containment.hpp>

#include <algorithm>
#include <array>
#include <string>
#include <unordered_set>
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
    build_action_classes();

    std::vector<const compiled_statement*> granted_denies;
    for (const auto& s : granted_.statements()) {
      if (s.effect == policy::effect::deny) granted_denies.push_back(&s);
    }
    static const policy::resource_pattern everything{{{"*", {}}}};

    for (const auto& allow : requested_.statements()) {
      if (allow.effect != policy::effect::allow) continue;
      if (allow.universal && try_request_set(allow.actions, {})) {
        return found();
      }
      const auto& patterns =
          allow.universal ? std::span<const policy::resource_pattern>(&everything, 1)
                          : std::span<const policy::resource_pattern>(allow.patterns);
      for (const auto& pattern : patterns) {
        // A request of `pattern` that no allow of `granted` covers.
        if (try_pattern(allow.actions, pattern, nullptr)) return found();
        // A request of `pattern` that a deny of `granted` refuses.
        for (const auto* deny : granted_denies) {
          const action_set shared = allow.actions & deny->actions;
          if (shared == 0) continue;
          if (deny->universal) {
            if (try_pattern(shared, pattern, nullptr)) return found();
            continue;
          }
          for (const auto& denied : deny->patterns) {
            if (try_pattern(shared, pattern, &denied)) return found();
          }
        }
        if (exhausted_) return containment_errc::too_complex;
      }
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

  // Actions that belong to exactly the same statements behave the same in every request, so
  // one representative per class stands for all of them.
  void build_action_classes() {
    std::vector<action_set> sets;
    for (const auto* side : {&granted_, &requested_}) {
      for (const auto& s : side->statements()) sets.push_back(s.actions);
    }
    std::sort(sets.begin(), sets.end());
    sets.erase(std::unique(sets.begin(), sets.end()), sets.end());
    std::vector<std::vector<bool>> signatures;
    for (action_id a = 0; a < policy::action_id_count; ++a) {
      std::vector<bool> signature;
      for (auto set : sets) signature.push_back((set >> a) & 1U);
      const auto it = std::find(signatures.begin(), signatures.end(), signature);
      if (it == signatures.end()) {
        signatures.push_back(std::move(signature));
        representatives_.push_back(a);
      }
    }
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
      prefix += b[0];                           // the star swallows b's next character
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
    if (at == choices.size()) return try_request_set(actions, rn);
    for (const auto& path : choices[at].paths) {
      for (const auto& tags : choices[at].tag_sets) {
        rn[at] = {path, tags};
        if (expand(actions, choices, at + 1, rn)) return true;
      }
    }
    return false;
  }

  bool try_request_set(action_set actions, const std::vector<candidate_segment>& rn) {
    std::string resource;
    for (std::size_t i = 0; i < rn.size(); ++i) {
      const auto& segment = rn[i];
      if (i > 0) resource += ':';
      resource += segment.path;
      for (std::size_t t = 0; t < segment.tags.size(); ++t) {
        resource += t == 0 ? ';' : ',';
        resource += segment.tags[t];
      }
    }
    for (action_id a : representatives_) {
      if (((actions >> a) & 1U) == 0) continue;
      if (++work_ > limits_.max_candidates) {
        exhausted_ = true;
        return false;
      }
      if (requested_.decide(a, resource) == decision::allow &&
          granted_.decide(a, resource) != decision::allow) {
        counterexample_ = request{std::string(policy::action_name(a)), resource};
        return true;
      }
    }
    return false;
  }

  const compiled_policy& granted_;
  const compiled_policy& requested_;
  containment_limits limits_;
  char fresh_ = '#';
  std::vector<action_id> representatives_;
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
