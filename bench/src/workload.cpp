// The FeatBit workload generator: statement templates by resource type (~10% deny), requests
// derived from the statements or drawn from the vocabulary, and the seeded random source.
#include "workload.hpp"

#include "featbit_vocabulary.hpp"

#include <gatehouse/policy/catalogue.hpp>

#include <algorithm>
#include <array>
#include <limits>

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
      return {{seg("project", "*"), seg("env", v.env(r)), seg("flag", v.flag_family_glob(r))}};
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
      return {{seg("project", "*"), seg("env", "*"), seg("segment", v.segment_family_glob(r))}};
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

std::vector<engine::sourced_statement> sourced(std::span<const generated_statement> statements,
                                               const std::string& policy_id) {
  std::vector<engine::sourced_statement> out;
  out.reserve(statements.size());
  for (const auto& g : statements) out.push_back({policy_id, g.statement});
  return out;
}

}  // namespace gatehouse::bench
