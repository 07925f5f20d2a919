// The FeatBit workload generator: vocabulary, statement templates, request derivation and the
// narrowing that makes contained token scopes.
#include "workload.hpp"

#include <gatehouse/engine/reference.hpp>
#include <gatehouse/policy/catalogue.hpp>

#include <algorithm>
#include <array>
#include <limits>
#include <stdexcept>

namespace gatehouse::bench {

std::size_t rng::below(std::size_t n) {
  const std::uint64_t bound = n;
  // Largest multiple of `bound` that fits; draws at or above it are redrawn.
  const std::uint64_t limit =
      std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % bound;
  for (;;) {
    const std::uint64_t x = engine_();
    if (x < limit) return static_cast<std::size_t>(x % bound);
  }
}

bool rng::chance(double p) {
  // The top 53 bits make a double in [0, 1) exactly.
  return static_cast<double>(engine_() >> 11) * 0x1.0p-53 < p;
}

namespace {

using policy::resource_pattern;
using policy::segment_pattern;

constexpr std::array<std::string_view, 10> project_families = {
    "web", "mobile", "api", "billing", "search", "checkout", "growth", "data", "admin", "docs"};
constexpr std::array<std::string_view, 3> envs = {"dev", "staging", "prod"};
constexpr std::array<std::string_view, 10> flag_families = {
    "checkout", "search", "onboarding", "pricing", "dark-mode",
    "new-nav",  "recs",   "payments",   "banner",  "export"};
constexpr std::size_t flags_per_family = 30;
constexpr std::array<std::string_view, 5> segment_families = {
    "vip-users", "internal", "beta-testers", "eu-customers", "churn-risk"};
constexpr std::size_t segments_per_family = 10;
constexpr std::array<std::string_view, 8> tags = {"beta",         "ops",    "team-x",  "team-y",
                                                  "experimental", "mobile", "release", "legacy"};
constexpr std::array<std::string_view, 3> teams = {"x", "y", "z"};
constexpr std::array<std::string_view, 3> iam_keys = {"policies", "groups", "members"};
/// An action outside the catalogue: it only ever matches the `*` action.
constexpr std::string_view unlisted_action_name = "ExportEverything";

struct weighted_type {
  std::string_view type;
  std::size_t weight;
};
// Statement mix by resource type: flags dominate real FeatBit policies.
constexpr std::array<weighted_type, 9> statement_types = {{{"flag", 50},
                                                           {"segment", 15},
                                                           {"env", 10},
                                                           {"project", 10},
                                                           {"access-token", 5},
                                                           {"relay-proxy", 3},
                                                           {"organization", 3},
                                                           {"iam", 2},
                                                           {"workspace", 2}}};
// Requests drawn from the vocabulary, by the type of their deepest segment.
constexpr std::array<weighted_type, 9> request_types = {{{"flag", 45},
                                                         {"segment", 15},
                                                         {"env", 10},
                                                         {"project", 10},
                                                         {"access-token", 8},
                                                         {"relay-proxy", 4},
                                                         {"organization", 3},
                                                         {"iam", 3},
                                                         {"workspace", 2}}};

std::string_view pick_weighted(rng& r, std::span<const weighted_type> table) {
  std::size_t total = 0;
  for (const auto& w : table) total += w.weight;
  std::size_t x = r.below(total);
  for (const auto& w : table) {
    if (x < w.weight) return w.type;
    x -= w.weight;
  }
  return table.back().type;
}

const std::vector<std::string_view>& actions_of(std::string_view type) {
  static const auto by_type = [] {
    std::vector<std::pair<std::string_view, std::vector<std::string_view>>> out;
    for (auto t : policy::resource_types) {
      std::vector<std::string_view> names;
      for (const auto& a : policy::action_catalogue) {
        if (a.resource_type == t) names.push_back(a.name);
      }
      out.emplace_back(t, std::move(names));
    }
    return out;
  }();
  for (const auto& [t, names] : by_type) {
    if (t == type) return names;
  }
  throw std::logic_error("no actions for resource type " + std::string(type));
}

std::string_view type_of(const segment_pattern& s) {
  const std::string_view path = s.path;
  return path.substr(0, path.find('/'));
}

std::string_view key_of(const segment_pattern& s) {
  const std::string_view path = s.path;
  const auto slash = path.find('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

segment_pattern seg(std::string_view type, std::string_view key,
                    std::vector<std::string> segment_tags = {}) {
  return {std::string(type) + "/" + std::string(key), std::move(segment_tags)};
}

// The names a workload draws from. Projects grow with the statement count (20 at most 1,000
// statements, one per 50 beyond) so that large sets spread over more projects, as they would
// across a large organization.
class vocabulary {
 public:
  explicit vocabulary(std::size_t statements)
      : projects_(std::max<std::size_t>(20, statements / 50)) {}

  std::string project(rng& r) const {
    const auto i = r.below(projects_);
    return std::string(project_families[i % project_families.size()]) + "-" +
           std::to_string(i / project_families.size());
  }
  std::string project_family_glob(rng& r) const {
    return std::string(r.pick(project_families)) + "-*";
  }
  static std::string env(rng& r) { return std::string(r.pick(envs)); }
  static std::string flag(rng& r) {
    return std::string(r.pick(flag_families)) + "-" + std::to_string(r.below(flags_per_family));
  }
  static std::string segment(rng& r) {
    return std::string(r.pick(segment_families)) + "-" +
           std::to_string(r.below(segments_per_family));
  }
  static std::string tag(rng& r) { return std::string(r.pick(tags)); }

  // A concrete key for a segment of `type`, as a request would carry it.
  std::string key(rng& r, std::string_view type) const {
    if (type == "project") return project(r);
    if (type == "env") return env(r);
    if (type == "flag") return flag(r);
    if (type == "segment") return segment(r);
    if (type == "access-token") return "tok-" + std::to_string(r.below(40));
    if (type == "relay-proxy") return "relay-" + std::to_string(r.below(8));
    if (type == "iam") return std::string(r.pick(iam_keys));
    if (type == "organization") return "playground";
    return "default";
  }

 private:
  std::size_t projects_;
};

// Replaces each `*` of a key glob with something a real name would have there.
std::string fill_key_glob(rng& r, const vocabulary& v, std::string_view type,
                          std::string_view glob) {
  if (glob == "*") return v.key(r, type);
  std::string out;
  for (char c : glob) {
    if (c == '*') {
      // Small ranges, so that filled globs name keys the vocabulary also uses.
      const std::size_t range = type == "project"   ? 4
                                : type == "segment" ? segments_per_family
                                                    : flags_per_family;
      out += std::to_string(r.below(range));
    } else {
      out += c;
    }
  }
  return out;
}

std::string fill_tag_glob(rng& r, std::string_view glob) {
  if (glob == "*") return vocabulary::tag(r);
  std::string out;
  for (char c : glob) {
    if (c == '*') {
      out += r.pick(teams);
    } else {
      out += c;
    }
  }
  return out;
}

// Two distinct tags.
std::vector<std::string> two_tags(rng& r) {
  auto first = vocabulary::tag(r);
  auto second = vocabulary::tag(r);
  while (second == first) second = vocabulary::tag(r);
  return {std::move(first), std::move(second)};
}

resource_pattern flag_pattern(rng& r, const vocabulary& v) {
  switch (r.below(8)) {
    case 0:
      return {{seg("project", v.project(r)), seg("env", v.env(r)), seg("flag", "*")}};
    case 1:
      return {{seg("project", v.project(r)), seg("env", "*"), seg("flag", "*", {v.tag(r)})}};
    case 2:
      return {{seg("project", "*"), seg("env", v.env(r)),
               seg("flag", std::string(r.pick(flag_families)) + "-*")}};
    case 3:
      return {{seg("project", v.project(r)), seg("env", v.env(r)), seg("flag", v.flag(r))}};
    case 4:
      return {{seg("project", v.project(r)), seg("env", v.env(r)), seg("flag", "*", two_tags(r))}};
    case 5:
      return {{seg("project", v.project(r)), seg("env", "*"), seg("flag", "*", {"team-*"})}};
    case 6:
      return {{seg("project", v.project_family_glob(r)), seg("env", "prod"), seg("flag", "*")}};
    default:
      return {
          {seg("project", v.project(r)), seg("env", v.env(r)), seg("flag", v.flag(r), {v.tag(r)})}};
  }
}

resource_pattern segment_pattern_of(rng& r, const vocabulary& v) {
  switch (r.below(4)) {
    case 0:
      return {{seg("project", v.project(r)), seg("env", v.env(r)), seg("segment", "*")}};
    case 1:
      return {{seg("project", "*"), seg("env", "*"),
               seg("segment", std::string(r.pick(segment_families)) + "-*")}};
    case 2:
      return {{seg("project", v.project(r)), seg("env", v.env(r)), seg("segment", v.segment(r))}};
    default:
      return {{seg("project", v.project(r)), seg("env", "*"), seg("segment", "*", {v.tag(r)})}};
  }
}

resource_pattern pattern_for(rng& r, const vocabulary& v, std::string_view type) {
  if (type == "flag") return flag_pattern(r, v);
  if (type == "segment") return segment_pattern_of(r, v);
  if (type == "env") {
    switch (r.below(3)) {
      case 0:
        return {{seg("project", v.project(r)), seg("env", v.env(r))}};
      case 1:
        return {{seg("project", v.project(r)), seg("env", "*")}};
      default:
        return {{seg("project", "*"), seg("env", "prod")}};
    }
  }
  if (type == "project") {
    switch (r.below(3)) {
      case 0:
      case 1:
        return {{seg("project", v.project(r))}};
      default:
        return {{seg("project", v.project_family_glob(r))}};
    }
  }
  return {{seg(type, "*")}};
}

// Denies are narrow carve-outs from broader allows (no prod deletes in one project, hands off
// one flag), so a deny pattern names a concrete project; only the types without one use `*`.
resource_pattern deny_pattern_for(rng& r, const vocabulary& v, std::string_view type) {
  if (type == "flag") {
    if (r.chance(0.5)) {
      return {{seg("project", v.project(r)), seg("env", "prod"), seg("flag", "*", {v.tag(r)})}};
    }
    return {{seg("project", v.project(r)), seg("env", v.env(r)), seg("flag", v.flag(r))}};
  }
  if (type == "segment") {
    return {{seg("project", v.project(r)), seg("env", v.env(r)), seg("segment", v.segment(r))}};
  }
  if (type == "env") return {{seg("project", v.project(r)), seg("env", "prod")}};
  if (type == "project") return {{seg("project", v.project(r))}};
  return {{seg(type, "*")}};
}

// A non-empty subset of `from`, in its order.
std::vector<std::string> subset(rng& r, const std::vector<std::string>& from) {
  std::vector<std::string> out;
  while (out.empty()) {
    for (const auto& item : from) {
      if (r.chance(0.5)) out.push_back(item);
    }
  }
  return out;
}

std::vector<std::string> some_actions(rng& r, std::string_view type, std::size_t most) {
  const auto& names = actions_of(type);
  const std::size_t count = 1 + r.below(std::min(most, names.size()));
  std::vector<std::string> out;
  while (out.size() < count) {
    std::string name(r.pick(names));
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(std::move(name));
  }
  return out;
}

void set_resources(generated_statement& g) {
  g.statement.resources.clear();
  for (const auto& p : g.patterns) g.statement.resources.push_back(policy::to_string(p));
}

generated_statement universal_statement(std::string id) {
  generated_statement g;
  g.statement.id = std::move(id);
  g.statement.resource_type = "*";
  g.statement.effect = policy::effect::allow;
  g.statement.actions = {"*"};
  g.patterns = {{{segment_pattern{"*", {}}}}};
  set_resources(g);
  return g;
}

generated_statement random_statement(rng& r, const vocabulary& v, std::string id) {
  generated_statement g;
  g.statement.id = std::move(id);
  const auto type = pick_weighted(r, statement_types);
  g.statement.resource_type = type;
  const bool deny = r.chance(0.10);
  g.statement.effect = deny ? policy::effect::deny : policy::effect::allow;
  // Denies name a few actions; allows often grant everything of their type.
  if (r.chance(deny ? 0.05 : 0.20)) {
    g.statement.actions = {"*"};
  } else {
    g.statement.actions = some_actions(r, type, deny ? 2 : 4);
  }
  const std::size_t resources = r.chance(0.70) ? 1 : (r.chance(0.83) ? 2 : 3);
  for (std::size_t i = 0; i < resources; ++i) {
    g.patterns.push_back(deny ? deny_pattern_for(r, v, type) : pattern_for(r, v, type));
  }
  set_resources(g);
  return g;
}

struct concrete_segment {
  std::string path;
  std::vector<std::string> tags;
};

std::string render(const std::vector<concrete_segment>& segments) {
  std::string out;
  for (const auto& s : segments) {
    if (!out.empty()) out += ':';
    out += s.path;
    for (std::size_t i = 0; i < s.tags.size(); ++i) {
      out += i == 0 ? ';' : ',';
      out += s.tags[i];
    }
  }
  return out;
}

void add_random_tags(rng& r, concrete_segment& s) {
  const std::size_t count = 1 + r.below(2);
  for (std::size_t i = 0; i < count; ++i) {
    auto tag = vocabulary::tag(r);
    if (std::find(s.tags.begin(), s.tags.end(), tag) == s.tags.end()) s.tags.push_back(tag);
  }
}

bool is_taggable(std::string_view type) { return type == "flag" || type == "segment"; }

// The child segment types under `type` in FeatBit's resource tree.
std::string_view child_type(rng& r, std::string_view type) {
  if (type == "project") return "env";
  if (type == "env") return r.chance(0.7) ? "flag" : "segment";
  return {};
}

std::string_view path_type(std::string_view path) { return path.substr(0, path.find('/')); }

// A request the statement matches (unless one of its tag or deny siblings says otherwise).
engine::request derived_request(rng& r, const vocabulary& v, const generated_statement& g) {
  const auto& pattern = r.pick(g.patterns);
  std::vector<concrete_segment> segments;
  for (const auto& p : pattern.segments) {
    const auto type = type_of(p);
    concrete_segment s{std::string(type) + "/" + fill_key_glob(r, v, type, key_of(p)), {}};
    if (!p.tags.empty()) {
      s.tags.push_back(fill_tag_glob(r, r.pick(p.tags)));
      if (r.chance(0.3)) add_random_tags(r, s);
    } else if (is_taggable(type) && r.chance(0.5)) {
      add_random_tags(r, s);
    }
    segments.push_back(std::move(s));
  }
  // Prefix patterns match descendants too; a third of the requests go one level deeper.
  if (const auto below = child_type(r, path_type(segments.back().path));
      !below.empty() && r.chance(0.3)) {
    concrete_segment s{std::string(below) + "/" + v.key(r, below), {}};
    if (is_taggable(below) && r.chance(0.5)) add_random_tags(r, s);
    segments.push_back(std::move(s));
  }
  const auto& actions = g.statement.actions;
  std::string action = actions.front() == policy::any_action
                           ? std::string(r.pick(actions_of(path_type(segments.back().path))))
                           : r.pick(actions);
  return {std::move(action), render(segments)};
}

// A request drawn from the whole vocabulary; most of them match no statement.
engine::request vocabulary_request(rng& r, const vocabulary& v) {
  const auto type = pick_weighted(r, request_types);
  std::vector<concrete_segment> segments;
  if (type == "project" || type == "env" || type == "flag" || type == "segment") {
    segments.push_back({"project/" + v.project(r), {}});
    if (type != "project") segments.push_back({"env/" + v.env(r), {}});
    if (type == "flag" || type == "segment") {
      segments.push_back({std::string(type) + "/" + v.key(r, type), {}});
      if (r.chance(0.6)) add_random_tags(r, segments.back());
    }
  } else {
    segments.push_back({std::string(type) + "/" + v.key(r, type), {}});
  }
  std::string action;
  if (r.chance(0.03)) {
    action = unlisted_action_name;
  } else if (r.chance(0.07)) {
    action = r.pick(policy::action_catalogue).name;
  } else {
    action = r.pick(actions_of(type));
  }
  return {std::move(action), render(segments)};
}

}  // namespace

workload generate_workload(const workload_options& options) {
  rng r(options.seed);
  const vocabulary v(options.statements);
  workload out;
  out.statements.reserve(options.statements);
  for (std::size_t i = 0; i < options.statements; ++i) {
    const std::string id = "s" + std::to_string(i);
    const bool universal =
        options.universal &&
        (r.chance(0.01) || (i == options.statements / 2 &&
                            std::none_of(out.statements.begin(), out.statements.end(), [](auto& g) {
                              return g.statement.resource_type == "*";
                            })));
    out.statements.push_back(universal ? universal_statement(id) : random_statement(r, v, id));
  }
  out.requests.reserve(options.requests);
  for (std::size_t i = 0; i < options.requests; ++i) {
    const generated_statement* g = out.statements.empty() ? nullptr : &r.pick(out.statements);
    if (g != nullptr && g->statement.resource_type != "*" && r.chance(0.6)) {
      out.requests.push_back(derived_request(r, v, *g));
    } else {
      out.requests.push_back(vocabulary_request(r, v));
    }
  }
  return out;
}

namespace {

// Each step gives a pattern that matches a subset of what the input matches.
resource_pattern narrow_pattern(rng& r, const vocabulary& v, resource_pattern p) {
  const std::size_t steps = 1 + r.below(2);
  for (std::size_t step = 0; step < steps; ++step) {
    auto& last = p.segments.back();
    switch (r.below(4)) {
      case 0: {  // a glob key made concrete: the glob matches the concrete key
        std::vector<std::size_t> globbed;
        for (std::size_t i = 0; i < p.segments.size(); ++i) {
          if (key_of(p.segments[i]).find('*') != std::string_view::npos) globbed.push_back(i);
        }
        if (globbed.empty()) break;
        auto& s = p.segments[r.pick(globbed)];
        const auto type = type_of(s);
        s.path = std::string(type) + "/" + fill_key_glob(r, v, type, key_of(s));
        break;
      }
      case 1: {  // one more segment: a longer pattern matches only descendants
        const auto below = child_type(r, type_of(last));
        if (below.empty()) break;
        p.segments.push_back(seg(below, r.chance(0.5) ? std::string("*") : v.key(r, below)));
        break;
      }
      case 2:  // a tag on an untagged segment: the resource must then carry it
        if (last.tags.empty() && last.path != "*") last.tags.push_back(vocabulary::tag(r));
        break;
      default:  // fewer tag globs, or a glob made concrete
        if (last.tags.size() > 1) {
          last.tags = {r.pick(last.tags)};
        } else if (!last.tags.empty()) {
          last.tags.front() = fill_tag_glob(r, last.tags.front());
        }
        break;
    }
  }
  return p;
}

generated_statement narrow(rng& r, const vocabulary& v, const generated_statement& g,
                           std::string id) {
  generated_statement out;
  out.statement.id = std::move(id);
  out.statement.resource_type = g.statement.resource_type;
  out.statement.effect = policy::effect::allow;
  if (g.statement.actions.front() != policy::any_action) {
    out.statement.actions = subset(r, g.statement.actions);
  } else if (r.chance(0.5)) {
    out.statement.actions = {"*"};
  } else {
    out.statement.actions = some_actions(r, g.statement.resource_type, 3);
  }
  std::vector<std::size_t> kept;
  for (std::size_t i = 0; i < g.patterns.size(); ++i) {
    if (r.chance(0.6)) kept.push_back(i);
  }
  if (kept.empty()) kept.push_back(r.below(g.patterns.size()));
  for (auto i : kept) out.patterns.push_back(narrow_pattern(r, v, g.patterns[i]));
  set_resources(out);
  return out;
}

std::string literal_prefix(std::string_view glob) {
  return std::string(glob.substr(0, glob.find('*')));
}

// Whether some request could match both: a cheap over-approximation. Two first-segment globs
// whose literal prefixes disagree share no resource, and neither do disjoint action lists.
bool may_overlap(const generated_statement& allow, const generated_statement& deny) {
  if (deny.statement.resource_type == "*") return true;
  const auto& a = allow.statement.actions;
  const auto& d = deny.statement.actions;
  const bool actions_meet = a.front() == policy::any_action || d.front() == policy::any_action ||
                            std::any_of(a.begin(), a.end(), [&](auto& x) {
                              return std::find(d.begin(), d.end(), x) != d.end();
                            });
  if (!actions_meet) return false;
  for (const auto& pa : allow.patterns) {
    const auto x = literal_prefix(pa.segments.front().path);
    for (const auto& pd : deny.patterns) {
      const auto y = literal_prefix(pd.segments.front().path);
      if (x.starts_with(y) || y.starts_with(x)) return true;
    }
  }
  return false;
}

engine::decision reference_decision(const std::vector<engine::sourced_statement>& statements,
                                    const engine::request& q) {
  return engine::reference::evaluate(statements, q.action, q.resource).decision;
}

// One statement that allows a request `granted` denies: the request's resource with its last key
// widened to `*`, as a token asking for a whole env where its creator holds only some flags.
generated_statement widening_statement(rng& r, const vocabulary& v,
                                       const std::vector<generated_statement>& granted,
                                       std::vector<generated_statement> requested,
                                       engine::request& witness) {
  const auto granted_sourced = sourced(granted, "granted");
  for (int attempt = 0; attempt < 10'000; ++attempt) {
    auto q = vocabulary_request(r, v);
    if (!policy::is_catalogue_action(q.action)) continue;
    if (reference_decision(granted_sourced, q) == engine::decision::allow) continue;
    auto parsed = policy::parse_resource_pattern(q.resource);
    if (!parsed) continue;
    auto& last = parsed->segments.back();
    const auto type = type_of(last);
    last = seg(type, "*");
    generated_statement w;
    w.statement.id = "widened";
    w.statement.resource_type = type;
    w.statement.actions = {q.action};
    w.patterns = {*parsed};
    set_resources(w);
    requested.push_back(w);
    if (reference_decision(sourced(requested, "requested"), q) != engine::decision::allow) {
      requested.pop_back();
      continue;
    }
    witness = std::move(q);
    return w;
  }
  throw std::runtime_error("no request found that the granted statements deny");
}

}  // namespace

containment_workload generate_containment(const containment_options& options) {
  containment_workload out;
  out.granted = generate_workload({options.granted, 0, options.seed, false}).statements;
  rng r(options.seed ^ 0x9e3779b97f4a7c15ULL);
  const vocabulary v(options.granted);
  std::vector<const generated_statement*> allows;
  std::vector<const generated_statement*> denies;
  for (const auto& g : out.granted) {
    (g.statement.effect == policy::effect::deny ? denies : allows).push_back(&g);
  }
  if (allows.empty()) throw std::runtime_error("the granted statements allow nothing to narrow");
  std::vector<bool> copied(denies.size(), false);
  // The widening statement of a not-contained pair takes the last place.
  const std::size_t target = options.contained ? options.requested : options.requested - 1;
  std::size_t narrowed = 0;
  while (out.requested.size() < std::max<std::size_t>(target, 1)) {
    auto n = narrow(r, v, *r.pick(allows), "r" + std::to_string(narrowed++));
    // A copied deny takes back from `requested` whatever `granted` takes back with it.
    for (std::size_t i = 0; i < denies.size(); ++i) {
      if (copied[i] || !may_overlap(n, *denies[i])) continue;
      copied[i] = true;
      out.requested.push_back(*denies[i]);
    }
    out.requested.push_back(std::move(n));
  }
  if (!options.contained) {
    engine::request witness;
    out.requested.push_back(widening_statement(r, v, out.granted, out.requested, witness));
    out.witness = std::move(witness);
  }
  return out;
}

std::vector<engine::sourced_statement> sourced(std::span<const generated_statement> statements,
                                               const std::string& policy_id) {
  std::vector<engine::sourced_statement> out;
  out.reserve(statements.size());
  for (const auto& g : statements) out.push_back({policy_id, g.statement});
  return out;
}

}  // namespace gatehouse::bench
