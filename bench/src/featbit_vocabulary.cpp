// The FeatBit vocabulary a generated workload draws from (projects, envs, flags, segments, tags,
// actions by resource type), and the resource names and requests built from it.
#include "featbit_vocabulary.hpp"

#include <gatehouse/policy/catalogue.hpp>

#include <algorithm>
#include <array>
#include <stdexcept>

namespace gatehouse::bench {
namespace {

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

}  // namespace

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

std::string_view path_type(std::string_view path) { return path.substr(0, path.find('/')); }

std::string_view type_of(const policy::segment_pattern& s) { return path_type(s.path); }

std::string_view key_of(const policy::segment_pattern& s) {
  const std::string_view path = s.path;
  const auto slash = path.find('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

policy::segment_pattern seg(std::string_view type, std::string_view key,
                            std::vector<std::string> segment_tags) {
  return {std::string(type) + "/" + std::string(key), std::move(segment_tags)};
}

vocabulary::vocabulary(std::size_t statements)
    : projects_(std::max<std::size_t>(20, statements / 50)) {}

std::string vocabulary::project(rng& r) const {
  const auto i = r.below(projects_);
  return std::string(project_families[i % project_families.size()]) + "-" +
         std::to_string(i / project_families.size());
}

std::string vocabulary::project_family_glob(rng& r) {
  return std::string(r.pick(project_families)) + "-*";
}

std::string vocabulary::flag_family_glob(rng& r) {
  return std::string(r.pick(flag_families)) + "-*";
}

std::string vocabulary::segment_family_glob(rng& r) {
  return std::string(r.pick(segment_families)) + "-*";
}

std::string vocabulary::env(rng& r) { return std::string(r.pick(envs)); }

std::string vocabulary::flag(rng& r) {
  return std::string(r.pick(flag_families)) + "-" + std::to_string(r.below(flags_per_family));
}

std::string vocabulary::segment(rng& r) {
  return std::string(r.pick(segment_families)) + "-" + std::to_string(r.below(segments_per_family));
}

std::string vocabulary::tag(rng& r) { return std::string(r.pick(tags)); }

std::string vocabulary::key(rng& r, std::string_view type) const {
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

std::string_view child_type(rng& r, std::string_view type) {
  if (type == "project") return "env";
  if (type == "env") return r.chance(0.7) ? "flag" : "segment";
  return {};
}

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

}  // namespace gatehouse::bench
