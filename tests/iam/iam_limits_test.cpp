// SPEC §10 through the IAM service's interface: owners cannot vanish, and nobody grants what
// they do not hold.
#include <gatehouse/iam/service.hpp>

#include <gatehouse/policy/document.hpp>
#include <gatehouse/store/database.hpp>

#include <algorithm>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "iam_fixture.hpp"
#include "iam_rights_fixture.hpp"
#include "random_policy.hpp"  // prints decisions

namespace {

using namespace gatehouse;
using namespace gatehouse::testing;
namespace data = boost::unit_test::data;

}  // namespace

BOOST_AUTO_TEST_SUITE(iam_limits_tests)

// ---- Owners cannot vanish ----------------------------------------------------------------------

enum class owner_route {
  remove_member,
  detach_owner,
  deny_through_own_policy,
  leave_group,
  delete_group,
  detach_group_owner,
  deny_through_group_policy,
};
std::ostream& operator<<(std::ostream& os, owner_route r) {
  constexpr const char* names[] = {
      "remove_member", "detach_owner",       "deny_through_own_policy",  "leave_group",
      "delete_group",  "detach_group_owner", "deny_through_group_policy"};
  return os << names[static_cast<int>(r)];
}
const owner_route owner_routes[] = {owner_route::remove_member,
                                    owner_route::detach_owner,
                                    owner_route::deny_through_own_policy,
                                    owner_route::leave_group,
                                    owner_route::delete_group,
                                    owner_route::detach_group_owner,
                                    owner_route::deny_through_group_policy};

/// The organization's owner holds Owner and a harmless policy directly or, for the group routes,
/// only through the group `owners`.
struct owner_world {
  std::string held_policy;
  std::string group;
};

bool through_group(owner_route r) {
  return r == owner_route::leave_group || r == owner_route::delete_group ||
         r == owner_route::detach_group_owner || r == owner_route::deny_through_group_policy;
}

owner_world set_up_owner(organization_fixture& f, owner_route route) {
  owner_world w;
  w.held_policy = f.policy("held", allow_toggle);
  if (!through_group(route)) {
    expect(f.iam->attach_member_policy(f.owner, f.owner.member_id, w.held_policy));
    return w;
  }
  w.group = expect(f.iam->create_group(f.owner, "owners", "")).id;
  expect(f.iam->attach_group_policy(f.owner, w.group, owner_builtin_id));
  expect(f.iam->attach_group_policy(f.owner, w.group, w.held_policy));
  expect(f.iam->add_group_member(f.owner, w.group, f.owner.member_id));
  // The group gives Owner now, so the direct attachment may go.
  expect(f.iam->detach_member_policy(f.owner, f.owner.member_id, owner_builtin_id));
  return w;
}

std::optional<iam::failure> change_owner(organization_fixture& f, const owner_world& w,
                                         owner_route route) {
  const auto& who = f.owner;
  const auto& me = f.owner.member_id;
  switch (route) {
    case owner_route::remove_member:
      return failure_of(f.iam->remove_member(who, me));
    case owner_route::detach_owner:
      return failure_of(f.iam->detach_member_policy(who, me, owner_builtin_id));
    case owner_route::deny_through_own_policy:
    case owner_route::deny_through_group_policy:
      return failure_of(
          f.iam->set_policy_statements(who, w.held_policy, testing::statements(deny_manage_iam)));
    case owner_route::leave_group:
      return failure_of(f.iam->remove_group_member(who, w.group, me));
    case owner_route::delete_group:
      return failure_of(f.iam->delete_group(who, w.group));
    case owner_route::detach_group_owner:
      return failure_of(f.iam->detach_group_policy(who, w.group, owner_builtin_id));
  }
  return std::nullopt;
}

BOOST_DATA_TEST_CASE(the_last_owner_cannot_go, data::make(owner_routes), route) {
  counted_organization o;
  auto& f = o.f;
  const auto w = set_up_owner(f, route);
  // A removal would revoke the owner's personal tokens in the same change.
  const auto token = f.token(f.owner, "mine", token_type::personal);
  const auto before = world_of(f);
  const auto commits = o.store->commits;

  const auto refused = change_owner(f, w, route);
  BOOST_REQUIRE_MESSAGE(refused.has_value(), "the change was applied");
  BOOST_TEST(static_cast<int>(refused->code) == static_cast<int>(errc::last_owner),
             refused->detail);
  // Nothing changed, in memory or in the store.
  BOOST_TEST(o.store->commits == commits);
  BOOST_TEST((world_of(f) == before));
  const auto owner = f.again(f.owner);
  BOOST_TEST(f.iam->decide_only(owner, "CanManageIAM", "iam/*") == decision::allow);
  BOOST_TEST(f.iam->decide_only(owner, "DeleteProject", "project/web") == decision::allow);
  BOOST_TEST(f.iam->decide_only(f.use(token), "CanManageIAM", "iam/*") == decision::allow);
  BOOST_TEST(f.iam->count_tokens().active == 1U);
  BOOST_TEST(f.iam->count_tokens().revoked == 0U);
}

BOOST_DATA_TEST_CASE(with_a_second_owner_the_first_may_go, data::make(owner_routes), route) {
  counted_organization o;
  auto& f = o.f;
  const auto w = set_up_owner(f, route);
  const auto second = f.add("second@example.com", {owner_builtin_id});
  const auto commits = o.store->commits;

  const auto refused = change_owner(f, w, route);
  BOOST_TEST_REQUIRE(!refused.has_value(), refused->detail);
  BOOST_TEST(o.store->commits == commits + 1);
  BOOST_TEST(f.iam->decide_only(f.again(second), "CanManageIAM", "iam/*") == decision::allow);
  // The first is no owner any more: gone, without Owner, or denied CanManageIAM.
  const auto first = f.iam->authenticate_member(f.owner.member_id, f.owner.organization_id);
  if (first) {
    const bool holds_owner =
        f.iam->decide_only(*first, "DeleteProject", "project/web") == decision::allow;
    const bool manages = f.iam->decide_only(*first, "CanManageIAM", "iam/*") == decision::allow;
    BOOST_TEST(!(holds_owner && manages));
  }
  // And the second, now the last, cannot go either.
  expect_failure(f.iam->remove_member(f.again(second), second.member_id), errc::last_owner);
}

// An owner counts only while allowed to manage IAM: a second member who holds Owner but is
// denied CanManageIAM does not let the first go.
BOOST_AUTO_TEST_CASE(an_owner_denied_iam_does_not_count) {
  counted_organization o;
  auto& f = o.f;
  const auto no_iam = f.policy("no-iam", deny_manage_iam);
  const auto second = f.add("second@example.com", {owner_builtin_id, no_iam});
  BOOST_REQUIRE(f.iam->decide_only(second, "CanManageIAM", "iam/*") != decision::allow);
  const auto commits = o.store->commits;
  expect_failure(f.iam->remove_member(f.owner, f.owner.member_id), errc::last_owner);
  expect_failure(f.iam->detach_member_policy(f.owner, f.owner.member_id, owner_builtin_id),
                 errc::last_owner);
  BOOST_TEST(o.store->commits == commits);
  // Lifting the deny makes the second an owner, and the first may go.
  expect(f.iam->detach_member_policy(f.owner, second.member_id, no_iam));
  expect(f.iam->remove_member(f.owner, f.owner.member_id));
  BOOST_TEST(f.iam->decide_only(f.again(second), "CanManageIAM", "iam/*") == decision::allow);
}

// ---- Nobody grants what they do not hold -------------------------------------------------------

enum class grant_route {
  attach_to_member,
  add_to_group_policies,
  add_member_to_group,
  add_member_with_policy,
  add_member_with_group,
  add_member_with_default,
  write_statements,
};
std::ostream& operator<<(std::ostream& os, grant_route r) {
  constexpr const char* names[] = {"attach_to_member",      "add_to_group_policies",
                                   "add_member_to_group",   "add_member_with_policy",
                                   "add_member_with_group", "add_member_with_default",
                                   "write_statements"};
  return os << names[static_cast<int>(r)];
}
const grant_route grant_routes[] = {
    grant_route::attach_to_member,      grant_route::add_to_group_policies,
    grant_route::add_member_to_group,   grant_route::add_member_with_policy,
    grant_route::add_member_with_group, grant_route::add_member_with_default,
    grant_route::write_statements};

/// Who tries to grant: an Administrator, or a leaked token of the owner that may manage IAM (a
/// service token with CanManageIAM, or a personal token scoped to it).
enum class granter { administrator, iam_service_token, iam_scoped_personal_token };
std::ostream& operator<<(std::ostream& os, granter g) {
  constexpr const char* names[] = {"administrator", "iam_service_token",
                                   "iam_scoped_personal_token"};
  return os << names[static_cast<int>(g)];
}
const granter granters[] = {granter::administrator, granter::iam_service_token,
                            granter::iam_scoped_personal_token};

BOOST_DATA_TEST_CASE(grants_are_capped_at_the_callers_rights,
                     data::make(grant_routes) * data::make(granters), route, by) {
  organization_fixture f;
  const auto dev = f.add("dev@example.com");
  const auto owners = expect(f.iam->create_group(f.owner, "owners", "")).id;
  expect(f.iam->attach_group_policy(f.owner, owners, owner_builtin_id));
  const auto empty = expect(f.iam->create_group(f.owner, "empty", "")).id;
  const auto target = f.policy("target", allow_toggle);
  iam::caller who;
  switch (by) {
    case granter::administrator:
      who = f.add("admin@example.com", {admin_id});
      break;
    case granter::iam_service_token:
      who = f.use(f.token(f.owner, "iam-bot", token_type::service, manage_iam_only));
      break;
    case granter::iam_scoped_personal_token:
      who = f.use(f.token(f.owner, "iam-scoped", token_type::personal, manage_iam_only));
      break;
  }
  BOOST_REQUIRE(f.iam->decide_only(who, "CanManageIAM", "iam/*") == decision::allow);
  const auto before = world_of(f);

  const iam::new_member newcomer_with_owner{"new@example.com", {owner_builtin_id}, {}};
  std::vector<policy::statement> granted = builtin_statements(owner_builtin_id);
  std::optional<iam::failure> refusal;
  const auto check = [&](const auto& r) {
    if (!r) expect_counterexample(r, *f.iam, who, granted);
    refusal = failure_of(r);
  };
  switch (route) {
    case grant_route::attach_to_member:
      check(f.iam->attach_member_policy(who, dev.member_id, owner_builtin_id));
      break;
    case grant_route::add_to_group_policies:
      check(f.iam->attach_group_policy(who, empty, owner_builtin_id));
      break;
    case grant_route::add_member_to_group:
      check(f.iam->add_group_member(who, owners, dev.member_id));
      break;
    case grant_route::add_member_with_policy:
      check(f.iam->add_member(who, newcomer_with_owner));
      break;
    case grant_route::add_member_with_group:
      check(f.iam->add_member(who, {"new@example.com", {}, {owners}}));
      break;
    case grant_route::add_member_with_default:
      // The organization's default, Developer, is granted by whoever adds the member.
      granted = builtin_statements(developer_id);
      check(f.iam->add_member(who, {"new@example.com", {}, {}}));
      break;
    case grant_route::write_statements:
      granted = statements_of_json(everything);
      check(f.iam->set_policy_statements(who, target, testing::statements(everything)));
      break;
  }
  // An Administrator holds everything a Developer has; the tokens hold only CanManageIAM.
  const bool may = by == granter::administrator && route == grant_route::add_member_with_default;
  BOOST_TEST(refusal.has_value() == !may);
  if (may) {
    BOOST_TEST(world_of(f).members.size() == before.members.size() + 1);
    return;
  }
  BOOST_TEST((world_of(f) == before));
  BOOST_TEST(f.iam->decide_only(f.again(dev), "CanManageIAM", "iam/*") != decision::allow);
}

// Within the caller's rights, every route grants.
BOOST_AUTO_TEST_CASE(an_administrator_hands_out_administrator) {
  organization_fixture f;
  const auto admin = f.add("admin@example.com", {admin_id});
  const auto dev = f.add("dev@example.com");
  expect(f.iam->attach_member_policy(admin, dev.member_id, admin_id));
  BOOST_TEST(f.iam->decide_only(f.again(dev), "DeleteProject", "project/web") == decision::allow);
  const auto group = expect(f.iam->create_group(admin, "admins", "")).id;
  expect(f.iam->attach_group_policy(admin, group, admin_id));
  const auto dev2 = f.add("dev2@example.com");
  expect(f.iam->add_group_member(admin, group, dev2.member_id));
  BOOST_TEST(f.iam->decide_only(f.again(dev2), "DeleteProject", "project/web") == decision::allow);
  expect(f.iam->add_member(admin, {"a2@example.com", {admin_id}, {}}));
  expect(f.iam->add_member(admin, {"a3@example.com", {}, {group}}));
  const auto mine = expect(f.iam->create_policy(admin, "mine", "mine", "")).id;
  expect(f.iam->set_policy_statements(admin, mine, testing::statements(allow_delete_projects)));
  // A token that may manage IAM grants what it holds: CanManageIAM.
  const auto bot = f.use(f.token(f.owner, "iam-bot", token_type::service, manage_iam_only));
  const auto iam_policy = f.policy("iam-only", manage_iam_only);
  expect(f.iam->attach_member_policy(bot, dev2.member_id, iam_policy));
}

BOOST_AUTO_TEST_SUITE_END()
