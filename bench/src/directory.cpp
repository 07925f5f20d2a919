// The directory measurements. One organization is filled one member at a time through
// service, as an administrator adding members would; each kind of change is then timed at
// that size, and a decision after each timed policy change checks that the change took effect.
#include "directory.hpp"

#include "failures.hpp"
#include "json_fields.hpp"

#include <gatehouse/iam/builtins.hpp>
#include <gatehouse/iam/secrets.hpp>
#include <gatehouse/iam/service.hpp>
#include <gatehouse/store/database.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace gatehouse::bench {
namespace {

using clock = std::chrono::steady_clock;

constexpr std::size_t window = 1'000;
constexpr std::size_t team_every = 10;
constexpr std::size_t group_size = 1'000;

constexpr std::string_view allow_toggle =
    R"([{"id":"t","resourceType":"flag","effect":"allow","actions":["ToggleFlag"],"resources":["project/web:env/*:flag/*"]}])";
constexpr std::string_view allow_create =
    R"([{"id":"c","resourceType":"flag","effect":"allow","actions":["CreateFlag"],"resources":["project/web:env/*:flag/*"]}])";
constexpr std::string_view flag = "project/web:env/prod:flag/checkout";

double us_since(clock::time_point start) {
  return std::chrono::duration<double, std::micro>(clock::now() - start).count();
}

/// Median and p99 of `us`, which is reordered.
std::pair<double, double> median_p99(std::vector<double>& us) {
  std::sort(us.begin(), us.end());
  return {us[us.size() / 2], us[std::min(us.size() - 1, us.size() * 99 / 100)]};
}

/// Times `change(i)` for i in [0, n) and returns the median in microseconds.
template <class Change>
double median_us(std::size_t n, Change&& change) {
  std::vector<double> us;
  us.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto start = clock::now();
    change(i);
    us.push_back(us_since(start));
  }
  return median_p99(us).first;
}

}  // namespace

directory_result run_directory(const directory_options& options) {
  if (options.members < 2 * group_size) fail("--members must be at least 2,000");
  const auto builtins = builtin_policies(options.policies_dir);
  iam::limits limits;
  limits.max_members_per_organization =
      std::max(limits.max_members_per_organization, options.members);
  auto iam =
      value_or_fail(iam::service::open(store::make_memory(),
                                       value_or_fail(iam::server_key::generate(), "no server key"),
                                       builtins, limits),
                    "cannot open the service");
  const auto [org, owner_record] =
      value_or_fail(iam->create_organization("bench", "owner@bench.example"), "organization");
  const auto owner =
      value_or_fail(iam->authenticate_member(owner_record.id, org.id), "owner authentication");
  const auto team = value_or_fail(iam->create_policy(owner, "team", "team", ""), "policy");
  value_or_fail(iam->set_policy_statements(owner, team.id, statements_of(allow_toggle)),
                "policy statements");
  const auto group = value_or_fail(iam->create_group(owner, "big", ""), "group");

  directory_result r;
  r.members = options.members;
  std::vector<std::size_t> checkpoints = {1'000, 10'000, 50'000};
  std::erase_if(checkpoints, [&](std::size_t c) { return c >= options.members; });
  checkpoints.push_back(options.members);

  std::vector<std::string> team_ids;
  std::vector<double> recent;
  const auto fill_start = clock::now();
  for (std::size_t n = 1; n < options.members; ++n) {
    iam::new_member m{"member-" + std::to_string(n) + "@bench.example", {}, {}};
    if (n % team_every == 0) m.policy_ids.push_back(team.id);
    if (n <= group_size) m.group_ids.push_back(group.id);
    const auto start = clock::now();
    const auto added = value_or_fail(iam->add_member(owner, m), "add_member");
    const double us = us_since(start);
    if (n % team_every == 0) team_ids.push_back(added.id);
    if (n + window >= checkpoints.front()) recent.push_back(us);
    if (n + 1 == checkpoints.front()) {
      const auto [median, p99] = median_p99(recent);
      r.add_member.push_back({n + 1, median, p99, recent.size()});
      std::fprintf(stderr, "directory: %zu members, add_member median %.1f us\n", n + 1, median);
      recent.clear();
      checkpoints.erase(checkpoints.begin());
    }
  }
  r.fill_s = us_since(fill_start) / 1e6;
  r.team_members = team_ids.size();
  r.group_members = group_size;

  // Each timed change is followed by a decision that must show it.
  const auto check = [&](const std::string& member_id, std::string_view action,
                         std::string_view resource, bool allowed) {
    const auto who = value_or_fail(iam->authenticate_member(member_id, org.id), "member");
    if ((iam->decide_only(who, action, resource) == engine::decision::allow) != allowed) {
      ++r.mismatches;
    }
  };
  const auto& team_member = team_ids[team_ids.size() / 2];
  r.edit_team_policy_ms =
      median_us(11,
                [&](std::size_t i) {
                  const auto json = i % 2 == 0 ? allow_create : allow_toggle;
                  value_or_fail(iam->set_policy_statements(owner, team.id, statements_of(json)),
                                "policy statements");
                }) /
      1e3;
  // 11 edits, the last to allow_create.
  check(team_member, "CreateFlag", flag, true);
  check(team_member, "ToggleFlag", flag, false);

  const std::string grouped = value_or_fail(iam->list_groups(owner), "groups")[0].member_ids[1];
  const std::string admin(iam::administrator_policy_id);
  r.change_group_policy_ms =
      median_us(21,
                [&](std::size_t i) {
                  value_or_fail(i % 2 == 0 ? iam->attach_group_policy(owner, group.id, admin)
                                           : iam->detach_group_policy(owner, group.id, admin),
                                "change_group");
                }) /
      1e3;
  check(grouped, "CanManageIAM", "iam/*", true);  // 21 changes, the last an attachment

  const std::string single = team_ids.back();
  r.attach_member_policy_us = median_us(1'001, [&](std::size_t i) {
    value_or_fail(i % 2 == 0 ? iam->attach_member_policy(owner, single, admin)
                             : iam->detach_member_policy(owner, single, admin),
                  "attach");
  });
  check(single, "CanManageIAM", "iam/*", true);

  // Team members other than `single`, from the end of the list: at most `window`, and never
  // the middle one the policy checks used.
  const auto removals = static_cast<std::ptrdiff_t>(std::min(window, team_ids.size() / 2 - 1));
  const std::vector<std::string> doomed(team_ids.end() - 1 - removals, team_ids.end() - 1);
  r.remove_member_us = median_us(doomed.size(), [&](std::size_t i) {
    value_or_fail(iam->remove_member(owner, doomed[i]), "remove_member");
  });
  if (iam->authenticate_member(doomed.front(), org.id)) ++r.mismatches;
  return r;
}

std::string to_json(const directory_result& r) {
  rapidjson::StringBuffer buffer;
  json_writer w(buffer);
  w.StartObject();
  field(w, "benchmark", std::string_view("directory"));
  field(w, "members", r.members);
  field(w, "fill_s", r.fill_s);
  w.Key("add_member");
  w.StartArray();
  for (const auto& c : r.add_member) {
    w.StartObject();
    field(w, "members", c.members);
    field(w, "median_us", c.median_us);
    field(w, "p99_us", c.p99_us);
    field(w, "window", c.window);
    w.EndObject();
  }
  w.EndArray();
  field(w, "team_members", r.team_members);
  field(w, "edit_team_policy_ms", r.edit_team_policy_ms);
  field(w, "group_members", r.group_members);
  field(w, "change_group_policy_ms", r.change_group_policy_ms);
  field(w, "attach_member_policy_us", r.attach_member_policy_us);
  field(w, "remove_member_us", r.remove_member_us);
  field(w, "mismatches", r.mismatches);
  w.EndObject();
  return buffer.GetString();
}

}  // namespace gatehouse::bench
