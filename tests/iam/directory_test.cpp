// The directory snapshot on its own: after every kind of edit, `derive` leaves the same indexes
// (rights, groups, owners, counts, emails) as building the snapshot from scratch; owners are
// counted so that the last one cannot vanish; lookups are scoped to their organization.
#include "directory.hpp"

#include <boost/test/unit_test.hpp>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "iam_fixture.hpp"
#include "random_policy.hpp"  // prints decisions

namespace {

using namespace gatehouse;
using iam::directory;

const std::string allow_toggle =
    R"([{"id":"toggle","resourceType":"flag","effect":"allow","actions":["ToggleFlag"],)"
    R"("resources":["project/*:env/*:flag/*"]}])";
const std::string allow_delete_projects =
    R"([{"id":"delete","resourceType":"project","effect":"allow","actions":["DeleteProject"],)"
    R"("resources":["project/*"]}])";
const std::string deny_toggle_prod =
    R"([{"id":"no-prod","resourceType":"flag","effect":"deny","actions":["ToggleFlag"],)"
    R"("resources":["project/*:env/prod:flag/*"]}])";

/// The requests every comparison of rights asks about.
const std::vector<std::pair<std::string, std::string>> probes = {
    {"ToggleFlag", testing::flag},          {"ToggleFlag", "project/web:env/dev:flag/x"},
    {"DeleteProject", "project/web"},       {"CanManageIAM", "iam/*"},
    {"ListAccessTokens", "access-token/*"},
};

/// What compiled rights say: which statements they hold, and how they decide the probes.
std::pair<std::set<std::string>, std::vector<engine::decision>> rights_summary(
    const engine::compiled_policy& rights) {
  std::set<std::string> statements;
  for (const auto& s : rights.statements()) statements.insert(s.policy_id + "/" + s.statement_id);
  std::vector<engine::decision> decisions;
  for (const auto& [action, resource] : probes)
    decisions.push_back(rights.decide(action, resource));
  return {std::move(statements), std::move(decisions)};
}

template <class T, class F>
auto collect(const iam::cow_map<T>& map, F&& value_of) {
  std::map<std::string, decltype(value_of(std::declval<const T&>()))> out;
  map.for_each([&](const std::string& key, const T& value) { out[key] = value_of(value); });
  return out;
}

/// A directory edited the way the service edits it: a copy of the current snapshot, changed,
/// derived against the snapshot it was copied from, then made current.
struct directory_fixture {
  iam::rights_cache cache;
  std::vector<std::string> failures;
  iam::failure_reporter reporter = [this](const std::string& what) { failures.push_back(what); };
  std::shared_ptr<const directory> current;
  std::string org = "org-1";
  std::string other_org = "org-2";

  directory_fixture() {
    change([&](directory& d) {
      for (const auto& doc : testing::builtins()) iam::put(d.policies, iam::builtin_entry(doc));
      iam::put(d.organizations, store::organization_record{org, "acme", {}, 1});
      iam::put(d.organizations, store::organization_record{other_org, "other", {}, 2});
      iam::put(d.members, member("owner", "owner@example.com", {testing::owner_builtin_id}));
    });
  }

  template <class Edit>
  directory::derive_report change(Edit&& edit) {
    auto next = current ? std::make_shared<directory>(*current) : std::make_shared<directory>();
    edit(*next);
    const directory empty;
    auto out = next->derive(current ? *current : empty, cache, reporter);
    current = std::move(next);
    return out;
  }

  [[nodiscard]] store::member_record member(std::string id, std::string email,
                                            std::vector<std::string> policies = {},
                                            std::string organization = {}) const {
    return {std::move(id), organization.empty() ? org : std::move(organization), std::move(email),
            std::move(policies), 1};
  }

  void policy(const std::string& id, const std::string& statements) {
    change([&](directory& d) {
      iam::policy_entry e;
      e.view = {id, id, id, "", iam::policy_kind::customer_managed, {}};
      e.organization_id = org;
      e.view.version = 1;
      e.set_statements(testing::statements(statements));
      iam::put(d.policies, std::move(e));
    });
  }

  /// Edits record `id` of `records` (members or groups) in place.
  template <class Record, class Edit>
  directory::derive_report edit(iam::cow_map<Record> directory::*records, const std::string& id,
                                Edit&& edit_record) {
    return change([&](directory& d) {
      auto r = (d.*records).at(id);
      edit_record(r);
      iam::put(d.*records, std::move(r));
    });
  }
  template <class Edit>
  directory::derive_report edit_member(const std::string& id, Edit&& edit_record) {
    return edit(&directory::members, id, edit_record);
  }
  template <class Edit>
  directory::derive_report edit_group(const std::string& id, Edit&& edit_record) {
    return edit(&directory::groups, id, edit_record);
  }

  [[nodiscard]] engine::decision decide(const std::string& member_id, const std::string& action,
                                        const std::string& resource) const {
    const auto* rights = current->rights.find(member_id);
    BOOST_REQUIRE_MESSAGE(rights != nullptr, member_id << " has rights");
    return rights->decide(action, resource);
  }

  /// Fails unless the derived indexes of the current snapshot are those of a snapshot built from
  /// its organizations, members, groups and policies alone, with a cache of its own.
  void expect_same_as_rebuilt() const {
    directory rebuilt;
    rebuilt.organizations = current->organizations;
    rebuilt.members = current->members;
    rebuilt.groups = current->groups;
    rebuilt.policies = current->policies;
    iam::rights_cache own_cache;
    static_cast<void>(rebuilt.derive(directory{}, own_cache, reporter));
    const auto& d = *current;
    const auto summary = [](const engine::compiled_policy& r) { return rights_summary(r); };
    BOOST_TEST((collect(d.rights, summary) == collect(rebuilt.rights, summary)));
    const auto sorted = [](std::vector<std::string> ids) {
      std::sort(ids.begin(), ids.end());
      return ids;
    };
    BOOST_TEST((collect(d.member_groups, sorted) == collect(rebuilt.member_groups, sorted)));
    const auto same = [](const std::string& s) { return s; };
    BOOST_TEST((collect(d.owners, same) == collect(rebuilt.owners, same)));
    const auto id = [](const store::member_record& m) { return m.id; };
    BOOST_TEST((collect(d.members_by_email, id) == collect(rebuilt.members_by_email, id)));
    for (const auto& o : {org, other_org}) {
      const auto a = d.tally(o);
      const auto b = rebuilt.tally(o);
      BOOST_TEST(a.members == b.members);
      BOOST_TEST(a.groups == b.groups);
      BOOST_TEST(a.policies == b.policies);
      BOOST_TEST(a.owners == b.owners);
    }
  }
};

BOOST_FIXTURE_TEST_SUITE(directory_tests, directory_fixture)

BOOST_AUTO_TEST_CASE(built_from_scratch) {
  const auto& d = *current;
  BOOST_TEST(d.tally(org).members == 1U);
  BOOST_TEST(d.tally(org).owners == 1U);
  BOOST_TEST(d.tally(org).policies == 0U);  // built-ins belong to no organization
  BOOST_TEST(d.tally(other_org).members == 0U);
  BOOST_TEST(*d.owners.find("owner") == org);
  BOOST_TEST(decide("owner", "CanManageIAM", "iam/*") == engine::decision::allow);
  BOOST_TEST(failures.empty());
  expect_same_as_rebuilt();
}

BOOST_AUTO_TEST_CASE(lookups_are_scoped_to_the_organization) {
  policy("mine", allow_toggle);
  const auto& d = *current;
  BOOST_TEST(d.find(d.members, "owner", org) != nullptr);
  BOOST_TEST(d.find(d.members, "owner", other_org) == nullptr);
  BOOST_TEST(d.find(d.policies, "mine", org) != nullptr);
  BOOST_TEST(d.find(d.policies, "mine", other_org) == nullptr);
  // Built-ins are everyone's.
  BOOST_TEST(d.find(d.policies, testing::admin_id, other_org) != nullptr);
  BOOST_TEST(d.find(d.organizations, org, "anything") != nullptr);
  BOOST_TEST(d.find(d.members, "nobody", org) == nullptr);
}

BOOST_AUTO_TEST_CASE(emails_are_found_in_any_case) {
  const auto* m = current->members_by_email.find(iam::email_key(org, "Owner@Example.COM"));
  BOOST_REQUIRE(m != nullptr);
  BOOST_TEST(m->id == "owner");
  BOOST_TEST(current->members_by_email.find(iam::email_key(other_org, "owner@example.com")) ==
             nullptr);
  BOOST_TEST(iam::email_key(org, "A@B") == iam::email_key(org, "a@b"));
  BOOST_TEST(iam::email_key(org, "a@b") != iam::email_key(other_org, "a@b"));
}

BOOST_AUTO_TEST_CASE(a_changed_email_moves_its_index_entry) {
  change([&](directory& d) { iam::put(d.members, member("m", "old@example.com")); });
  edit_member("m", [](store::member_record& m) { m.email = "new@example.com"; });
  BOOST_TEST(current->members_by_email.find(iam::email_key(org, "old@example.com")) == nullptr);
  BOOST_TEST(current->members_by_email.find(iam::email_key(org, "NEW@example.com"))->id == "m");
  expect_same_as_rebuilt();
}

// An older store may hold two emails that differ in case only: removing the one the index does
// not point at leaves the other findable.
BOOST_AUTO_TEST_CASE(removing_a_case_duplicate_keeps_the_other_findable) {
  change([&](directory& d) { iam::put(d.members, member("a", "dup@example.com")); });
  change([&](directory& d) { iam::put(d.members, member("b", "DUP@example.com")); });
  BOOST_TEST(current->members_by_email.find(iam::email_key(org, "dup@example.com"))->id == "b");
  change([&](directory& d) { d.members.erase("a"); });
  const auto* found = current->members_by_email.find(iam::email_key(org, "dup@example.com"));
  BOOST_REQUIRE(found != nullptr);
  BOOST_TEST(found->id == "b");
}

BOOST_AUTO_TEST_CASE(adding_and_removing_a_member) {
  policy("toggle", allow_toggle);
  change([&](directory& d) { iam::put(d.members, member("dev", "dev@example.com", {"toggle"})); });
  BOOST_TEST(current->tally(org).members == 2U);
  BOOST_TEST(decide("dev", "ToggleFlag", testing::flag) == engine::decision::allow);
  BOOST_TEST(decide("dev", "DeleteProject", "project/web") == engine::decision::implicit_deny);
  expect_same_as_rebuilt();
  change([&](directory& d) { d.members.erase("dev"); });
  BOOST_TEST(current->tally(org).members == 1U);
  BOOST_TEST(current->rights.find("dev") == nullptr);
  BOOST_TEST(current->members_by_email.find(iam::email_key(org, "dev@example.com")) == nullptr);
  expect_same_as_rebuilt();
}

BOOST_AUTO_TEST_CASE(attaching_and_detaching_policies) {
  policy("toggle", allow_toggle);
  policy("no-prod", deny_toggle_prod);
  change([&](directory& d) { iam::put(d.members, member("dev", "dev@example.com")); });
  BOOST_TEST(decide("dev", "ToggleFlag", testing::flag) == engine::decision::implicit_deny);
  edit_member("dev", [](store::member_record& m) { m.policy_ids = {"toggle"}; });
  BOOST_TEST(decide("dev", "ToggleFlag", testing::flag) == engine::decision::allow);
  expect_same_as_rebuilt();
  edit_member("dev", [](store::member_record& m) { m.policy_ids.push_back("no-prod"); });
  BOOST_TEST(decide("dev", "ToggleFlag", testing::flag) == engine::decision::explicit_deny);
  BOOST_TEST(decide("dev", "ToggleFlag", "project/web:env/dev:flag/x") == engine::decision::allow);
  expect_same_as_rebuilt();
  edit_member("dev", [](store::member_record& m) { std::erase(m.policy_ids, "toggle"); });
  BOOST_TEST(decide("dev", "ToggleFlag", "project/web:env/dev:flag/x") ==
             engine::decision::implicit_deny);
  expect_same_as_rebuilt();
}

BOOST_AUTO_TEST_CASE(groups_give_their_members_their_policies) {
  policy("toggle", allow_toggle);
  policy("delete", allow_delete_projects);
  change([&](directory& d) {
    iam::put(d.members, member("a", "a@example.com"));
    iam::put(d.members, member("b", "b@example.com"));
    iam::put(d.groups, store::group_record{"g", org, "devs", "", {"a"}, {"toggle"}, 1});
  });
  BOOST_TEST(current->tally(org).groups == 1U);
  BOOST_TEST(*current->member_groups.find("a") == std::vector<std::string>{"g"});
  BOOST_TEST(current->member_groups.find("b") == nullptr);
  BOOST_TEST(decide("a", "ToggleFlag", testing::flag) == engine::decision::allow);
  BOOST_TEST(decide("b", "ToggleFlag", testing::flag) == engine::decision::implicit_deny);
  expect_same_as_rebuilt();
  // Joining, and the group's policies changing, reach every member in it.
  edit_group("g", [](store::group_record& g) { g.member_ids.push_back("b"); });
  BOOST_TEST(decide("b", "ToggleFlag", testing::flag) == engine::decision::allow);
  edit_group("g", [](store::group_record& g) { g.policy_ids.push_back("delete"); });
  BOOST_TEST(decide("a", "DeleteProject", "project/web") == engine::decision::allow);
  BOOST_TEST(decide("b", "DeleteProject", "project/web") == engine::decision::allow);
  expect_same_as_rebuilt();
  edit_group("g", [](store::group_record& g) { std::erase(g.member_ids, "a"); });
  BOOST_TEST(decide("a", "ToggleFlag", testing::flag) == engine::decision::implicit_deny);
  BOOST_TEST(current->member_groups.find("a") == nullptr);
  expect_same_as_rebuilt();
  change([](directory& d) { d.groups.erase("g"); });
  BOOST_TEST(current->tally(org).groups == 0U);
  BOOST_TEST(decide("b", "DeleteProject", "project/web") == engine::decision::implicit_deny);
  expect_same_as_rebuilt();
}

BOOST_AUTO_TEST_CASE(editing_or_deleting_a_policy_reaches_its_holders) {
  policy("p", allow_toggle);
  change([&](directory& d) {
    iam::put(d.members, member("direct", "direct@example.com", {"p"}));
    iam::put(d.members, member("grouped", "grouped@example.com"));
    iam::put(d.groups, store::group_record{"g", org, "devs", "", {"grouped"}, {"p"}, 1});
  });
  BOOST_TEST(current->tally(org).policies == 1U);
  change([&](directory& d) {
    auto e = d.policies.at("p");
    e.set_statements(testing::statements(allow_delete_projects));
    e.view.version = 2;
    iam::put(d.policies, std::move(e));
  });
  for (const std::string who : {"direct", "grouped"}) {
    BOOST_TEST(decide(who, "ToggleFlag", testing::flag) == engine::decision::implicit_deny);
    BOOST_TEST(decide(who, "DeleteProject", "project/web") == engine::decision::allow);
  }
  expect_same_as_rebuilt();
  // A deleted policy's id left on a holder names nothing and grants nothing.
  change([](directory& d) { d.policies.erase("p"); });
  BOOST_TEST(current->tally(org).policies == 0U);
  BOOST_TEST(decide("direct", "DeleteProject", "project/web") == engine::decision::implicit_deny);
  BOOST_TEST(decide("grouped", "DeleteProject", "project/web") == engine::decision::implicit_deny);
  BOOST_TEST(current->effective_policy_ids(current->members.at("direct")).empty());
  expect_same_as_rebuilt();
}

BOOST_AUTO_TEST_CASE(effective_policies_are_direct_and_grouped_each_once) {
  policy("p", allow_toggle);
  policy("q", allow_delete_projects);
  change([&](directory& d) {
    iam::put(d.members, member("m", "m@example.com", {"q", "p", "gone"}));
    iam::put(d.groups, store::group_record{"g", org, "devs", "", {"m"}, {"p", "q"}, 1});
  });
  const auto ids = current->effective_policy_ids(current->members.at("m"));
  BOOST_TEST(ids == (std::vector<std::string>{"p", "q"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(members_with_the_same_policies_share_their_rights) {
  policy("p", allow_toggle);
  change([&](directory& d) {
    iam::put(d.members, member("a", "a@example.com", {"p"}));
    iam::put(d.members, member("b", "b@example.com", {"p"}));
    iam::put(d.members, member("c", "c@example.com", {"p", testing::developer_id}));
  });
  const auto& rights = current->rights;
  BOOST_TEST(rights.find("a") == rights.find("b"));
  BOOST_TEST(rights.find("a") != rights.find("c"));
}

BOOST_AUTO_TEST_CASE(owners_are_counted_and_the_last_one_is_reported) {
  change([&](directory& d) {
    iam::put(d.members, member("second", "second@example.com", {testing::owner_builtin_id}));
    iam::put(d.members, member("dev", "dev@example.com", {testing::developer_id}));
  });
  BOOST_TEST(current->tally(org).owners == 2U);
  BOOST_TEST(current->owners.contains("second"));
  BOOST_TEST(!current->owners.contains("dev"));
  expect_same_as_rebuilt();
  // One of two owners may go.
  auto report = change([](directory& d) { d.members.erase("second"); });
  BOOST_TEST(report.without_owner.empty());
  BOOST_TEST(current->tally(org).owners == 1U);
  // The last one may not: neither removed nor stripped of Owner.
  const auto before = current;
  report = edit_member("owner", [](store::member_record& m) { m.policy_ids.clear(); });
  BOOST_TEST(report.without_owner == std::vector<std::string>{org});
  current = before;
  report = change([](directory& d) { d.members.erase("owner"); });
  BOOST_TEST(report.without_owner == std::vector<std::string>{org});
  BOOST_TEST(current->tally(org).owners == 0U);
}

// An owner holds Owner and may manage IAM: Owner beside a deny of CanManageIAM is no owner.
BOOST_AUTO_TEST_CASE(an_owner_who_may_not_manage_iam_is_no_owner) {
  policy("no-iam", R"([{"id":"no-iam","resourceType":"iam","effect":"deny",)"
                   R"("actions":["CanManageIAM"],"resources":["iam/*"]}])");
  change([&](directory& d) {
    iam::put(d.members, member("second", "second@example.com", {testing::owner_builtin_id}));
  });
  BOOST_TEST(current->tally(org).owners == 2U);
  const auto report =
      edit_member("second", [](store::member_record& m) { m.policy_ids.push_back("no-iam"); });
  BOOST_TEST(report.without_owner.empty());
  BOOST_TEST(current->tally(org).owners == 1U);
  BOOST_TEST(!current->owners.contains("second"));
  expect_same_as_rebuilt();
}

BOOST_AUTO_TEST_CASE(members_over_the_effective_limits_are_reported) {
  // Each policy scans 40 names; one member may hold 64 scanning globs in all.
  std::string scanning = R"([{"id":"s","resourceType":"project","effect":"allow",)"
                         R"("actions":["DeleteProject"],"resources":[)";
  for (int i = 0; i < 40; ++i)
    scanning += (i ? ",\"project/*p" : "\"project/*p") + std::to_string(i) + "*\"";
  scanning += "]}]";
  BOOST_TEST(iam::scanning_globs_of(testing::statements(scanning)) == 40U);
  policy("s1", scanning);
  policy("s2", scanning);
  auto report =
      change([&](directory& d) { iam::put(d.members, member("m", "m@example.com", {"s1"})); });
  BOOST_TEST(report.over_member_limits.empty());
  report = edit_member("m", [](store::member_record& m) { m.policy_ids.push_back("s2"); });
  BOOST_TEST(report.over_member_limits == std::vector<std::string>{"m"});
  BOOST_TEST(!current->within_member_limits({"s1", "s2"}));
  BOOST_TEST(current->within_member_limits({"s1"}));
}

BOOST_AUTO_TEST_CASE(organization_records_are_the_organizations_own_oldest_first) {
  change([&](directory& d) {
    auto late = member("late", "late@example.com");
    late.created_at = 30;
    auto early = member("early", "early@example.com");
    early.created_at = 0;
    iam::put(d.members, std::move(late));
    iam::put(d.members, std::move(early));
    iam::put(d.members, member("elsewhere", "e@example.com", {}, other_org));
  });
  std::vector<std::string> ids;
  for (const auto& m : iam::organization_records(current->members, org)) ids.push_back(m.id);
  BOOST_TEST(ids == (std::vector<std::string>{"early", "owner", "late"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
