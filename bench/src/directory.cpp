// The directory measurements. One organization is filled one member at a time through
// the IAM service, as an administrator adding members would; each kind of change is then timed at
// that size, and a decision after each timed policy change checks that the change took effect.
#include "directory.hpp"

#include "failures.hpp"
#include "json_fields.hpp"
#include "workload.hpp"

#include <gatehouse/engine/reference.hpp>
#include <gatehouse/iam/builtins.hpp>
#include <gatehouse/iam/secrets.hpp>
#include <gatehouse/iam/service.hpp>
#include <gatehouse/policy/limits.hpp>
#include <gatehouse/policy/resource_name.hpp>
#include <gatehouse/store/database.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <utility>

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

/// add_member is reported over the `window` additions before each of these sizes.
std::vector<std::size_t> checkpoints_for(std::size_t members) {
  std::vector<std::size_t> checkpoints = {1'000, 10'000, 50'000};
  std::erase_if(checkpoints, [&](std::size_t c) { return c >= members; });
  checkpoints.push_back(members);
  return checkpoints;
}

// One organization with the policy `team` and the group `big`, filled and then changed; each
// timed change is followed by a decision that must show it.
class directory_run {
 public:
  explicit directory_run(const directory_options& options)
      : iam_(open_service(options)),
        organization_and_owner_(value_or_fail(
            iam_->create_organization("bench", "owner@bench.example"), "organization")),
        owner_(value_or_fail(
            iam_->authenticate_member(organization_and_owner_.second.id, organization_id()),
            "owner authentication")),
        team_policy_id_(create_team_policy()),
        group_id_(value_or_fail(iam_->create_group(owner_, "big", ""), "group").id) {
    result_.members = options.members;
  }

  /// Adds members until the organization holds `members`, each addition timed alone. Every tenth
  /// member holds `team`; the first `group_size` join `big` as they are added.
  void fill() {
    auto checkpoints = checkpoints_for(result_.members);
    std::vector<double> recent;
    const auto fill_start = clock::now();
    for (std::size_t n = 1; n < result_.members; ++n) {
      const double us = add_member(n);
      if (n + window >= checkpoints.front()) recent.push_back(us);
      if (n + 1 == checkpoints.front()) {
        const auto [median, p99] = median_p99(recent);
        result_.add_member.push_back({n + 1, median, p99, recent.size()});
        std::fprintf(stderr, "directory: %zu members, add_member median %.1f us\n", n + 1, median);
        recent.clear();
        checkpoints.erase(checkpoints.begin());
      }
    }
    result_.fill_s = us_since(fill_start) / 1e6;
    result_.team_members = team_ids_.size();
    result_.group_members = group_size;
  }

  void edit_team_policy() {
    const auto& team_member = team_ids_[team_ids_.size() / 2];
    const double us = median_us(11, [&](std::size_t i) {
      const auto json = i % 2 == 0 ? allow_create : allow_toggle;
      value_or_fail(iam_->set_policy_statements(owner_, team_policy_id_, statements_of(json)),
                    "policy statements");
    });
    result_.edit_team_policy_ms = us / 1e3;
    // 11 edits, the last to allow_create.
    check(team_member, "CreateFlag", flag, true);
    check(team_member, "ToggleFlag", flag, false);
  }

  void change_group_policy() {
    const std::string grouped = value_or_fail(iam_->list_groups(owner_), "groups")[0].member_ids[1];
    const std::string admin(iam::administrator_policy_id);
    const double us = median_us(21, [&](std::size_t i) {
      value_or_fail(i % 2 == 0 ? iam_->attach_group_policy(owner_, group_id_, admin)
                               : iam_->detach_group_policy(owner_, group_id_, admin),
                    "change_group");
    });
    result_.change_group_policy_ms = us / 1e3;
    check(grouped, "CanManageIAM", "iam/*", true);  // 21 changes, the last an attachment
  }

  void attach_member_policy() {
    const std::string single = team_ids_.back();
    const std::string admin(iam::administrator_policy_id);
    result_.attach_member_policy_us = median_us(1'001, [&](std::size_t i) {
      value_or_fail(i % 2 == 0 ? iam_->attach_member_policy(owner_, single, admin)
                               : iam_->detach_member_policy(owner_, single, admin),
                    "attach");
    });
    check(single, "CanManageIAM", "iam/*", true);
  }

  void remove_members() {
    // Team members other than the one given a policy, from the end of the list: at most
    // `window`, and never the middle one the policy checks used.
    const auto removals = static_cast<std::ptrdiff_t>(std::min(window, team_ids_.size() / 2 - 1));
    const std::vector<std::string> doomed(team_ids_.end() - 1 - removals, team_ids_.end() - 1);
    result_.remove_member_us = median_us(doomed.size(), [&](std::size_t i) {
      value_or_fail(iam_->remove_member(owner_, doomed[i]), "remove_member");
    });
    if (iam_->authenticate_member(doomed.front(), organization_id())) ++result_.mismatches;
  }

  void preview_large_policy() {
    const auto statements = large_statements();
    const auto large = value_or_fail(iam_->create_policy(owner_, "large", "large", ""), "policy");
    value_or_fail(iam_->set_policy_statements(owner_, large.id, statements), "large statements");
    value_or_fail(iam_->attach_group_policy(owner_, group_id_, large.id), "attach large");
    // The edit: one statement dropped from the middle, one allowing ToggleFlag everywhere added.
    auto edited = statements;
    edited.erase(edited.begin() + static_cast<std::ptrdiff_t>(edited.size() / 2));
    edited.push_back(
        statements_of(R"([{"id":"everywhere","resourceType":"flag","effect":"allow",)"
                      R"("actions":["ToggleFlag"],"resources":["project/*:env/*:flag/*"]}])")[0]);
    std::vector<double> us;
    iam::policy_preview preview;
    for (int i = 0; i < 11; ++i) {
      const auto start = clock::now();
      preview = value_or_fail(iam_->preview_policy(owner_, large.id, edited), "preview");
      us.push_back(us_since(start));
    }
    std::sort(us.begin(), us.end());
    result_.preview_statements = statements.size();
    result_.preview_median_ms = us[us.size() / 2] / 1e3;
    result_.preview_max_ms = us.back() / 1e3;
    result_.preview_added = preview.added.size();
    result_.preview_removed = preview.removed.size();
    result_.preview_holders = preview.members;
    const auto before = sourced_as(statements);
    const auto after = sourced_as(edited);
    const auto allows = [](const std::vector<engine::sourced_statement>& s,
                           const engine::request& r) {
      return engine::reference::evaluate(s, r.action, r.resource).decision ==
             engine::decision::allow;
    };
    for (const auto& r : preview.added) {
      if (!allows(after, r) || allows(before, r)) ++result_.mismatches;
    }
    for (const auto& r : preview.removed) {
      if (!allows(before, r) || allows(after, r)) ++result_.mismatches;
    }
    if (preview.added.empty() || preview.members != group_size) ++result_.mismatches;
    std::fprintf(stderr, "directory: preview of %zu statements, median %.1f ms\n",
                 statements.size(), result_.preview_median_ms);
  }

  [[nodiscard]] directory_result result() const { return result_; }

 private:
  static std::unique_ptr<iam::service> open_service(const directory_options& options) {
    const auto builtins = builtin_policies(options.policies_dir);
    iam::limits limits;
    limits.max_members_per_organization =
        std::max(limits.max_members_per_organization, options.members);
    return value_or_fail(
        iam::service::open(store::make_memory(),
                           value_or_fail(iam::server_key::generate(), "no server key"), builtins,
                           limits),
        "cannot open the service");
  }

  std::string create_team_policy() {
    const auto team = value_or_fail(iam_->create_policy(owner_, "team", "team", ""), "policy");
    value_or_fail(iam_->set_policy_statements(owner_, team.id, statements_of(allow_toggle)),
                  "policy statements");
    return team.id;
  }

  const std::string& organization_id() const { return organization_and_owner_.first.id; }

  /// The first statements of a generated workload that fit one stored policy: up to its
  /// statement limit, and only as many scanning globs as it may hold.
  static std::vector<policy::statement> large_statements() {
    const auto generated = generate_workload(
        {.statements = 3 * policy::max_policy_statements, .requests = 0, .seed = 11});
    std::vector<policy::statement> out;
    std::size_t scanning = 0;
    for (const auto& g : generated.statements) {
      std::size_t globs = 0;
      for (const auto& p : g.patterns) globs += policy::scanning_globs(p);
      if (scanning + globs > policy::max_policy_scanning_globs) continue;
      scanning += globs;
      out.push_back(g.statement);
      if (out.size() == policy::max_policy_statements) break;
    }
    return out;
  }

  static std::vector<engine::sourced_statement> sourced_as(
      const std::vector<policy::statement>& statements) {
    std::vector<engine::sourced_statement> out;
    for (const auto& s : statements) out.push_back({"large", s});
    return out;
  }

  /// Adds member `n`; returns how long add_member took, in microseconds.
  double add_member(std::size_t n) {
    iam::new_member m{"member-" + std::to_string(n) + "@bench.example", {}, {}};
    if (n % team_every == 0) m.policy_ids.push_back(team_policy_id_);
    if (n <= group_size) m.group_ids.push_back(group_id_);
    const auto start = clock::now();
    const auto added = value_or_fail(iam_->add_member(owner_, m), "add_member");
    const double us = us_since(start);
    if (n % team_every == 0) team_ids_.push_back(added.id);
    return us;
  }

  /// Counts a mismatch when the member's decision is not `allowed`.
  void check(const std::string& member_id, std::string_view action, std::string_view resource,
             bool allowed) {
    const auto who =
        value_or_fail(iam_->authenticate_member(member_id, organization_id()), "member");
    if ((iam_->decide_only(who, action, resource) == engine::decision::allow) != allowed) {
      ++result_.mismatches;
    }
  }

  std::unique_ptr<iam::service> iam_;
  std::pair<store::organization_record, store::member_record> organization_and_owner_;
  iam::caller owner_;
  std::string team_policy_id_;
  std::string group_id_;
  std::vector<std::string> team_ids_;
  directory_result result_;
};

}  // namespace

directory_result run_directory(const directory_options& options) {
  if (options.members < 2 * group_size) fail("--members must be at least 2,000");
  directory_run run(options);
  run.fill();
  run.edit_team_policy();
  run.change_group_policy();
  run.attach_member_policy();
  run.remove_members();
  run.preview_large_policy();
  return run.result();
}

std::string to_json(const directory_result& r) {
  return json_object([&](json_writer& w) {
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
    field(w, "preview_statements", r.preview_statements);
    field(w, "preview_median_ms", r.preview_median_ms);
    field(w, "preview_max_ms", r.preview_max_ms);
    field(w, "preview_added", r.preview_added);
    field(w, "preview_removed", r.preview_removed);
    field(w, "preview_holders", r.preview_holders);
    field(w, "mismatches", r.mismatches);
  });
}

}  // namespace gatehouse::bench
