// SPEC §10 through the IAM service's interface: owners cannot vanish, nobody grants what they do
// not hold, re-enabling a token needs its rights, the removal race, what tokens see of their own
// rights, token counts kept on every change, and stored statements that fail closed one by one.
#include <gatehouse/iam/service.hpp>

#include <gatehouse/engine/reference.hpp>
#include <gatehouse/iam/secrets.hpp>
#include <gatehouse/policy/document.hpp>
#include <gatehouse/store/database.hpp>

#include <algorithm>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "iam_fixture.hpp"
#include "random_policy.hpp"
#include "statements.hpp"  // prints decisions

namespace {

using namespace gatehouse;
using namespace gatehouse::testing;
using engine::decision;
using iam::errc;
using store::token_type;
namespace data = boost::unit_test::data;

const std::string allow_toggle =
    R"([{"id":"toggle","resourceType":"flag","effect":"allow","actions":["ToggleFlag"],)"
    R"("resources":["project/*:env/*:flag/*"]}])";
const std::string allow_delete_projects =
    R"([{"id":"delete-projects","resourceType":"project","effect":"allow",)"
    R"("actions":["DeleteProject"],"resources":["project/*"]}])";
const std::string manage_iam_only =
    R"([{"id":"iam","resourceType":"iam","effect":"allow","actions":["CanManageIAM"],)"
    R"("resources":["iam/*"]}])";
const std::string deny_manage_iam =
    R"([{"id":"no-iam","resourceType":"iam","effect":"deny","actions":["CanManageIAM"],)"
    R"("resources":["iam/*"]}])";
const std::string everything =
    R"([{"id":"all","resourceType":"*","effect":"allow","actions":["*"],"resources":["*"]}])";

/// A store that keeps nothing, like the memory store, and counts the commits it is asked for:
/// a refused change must never reach it.
class counting_store final : public store::database {
 public:
  std::size_t commits = 0;

  boost::system::result<store::stored_state> load(
      const std::function<void(store::token_record&&)>& /*on_token*/) override {
    return store::stored_state{};
  }
  boost::system::error_code commit(std::span<const store::change> /*changes*/) override {
    ++commits;
    return {};
  }
};

/// An organization on a counting store.
struct counted_organization {
  counting_store* store;
  organization_fixture f;

  counted_organization() : counted_organization(std::make_unique<counting_store>()) {}
  explicit counted_organization(std::unique_ptr<counting_store> owned)
      : store(owned.get()), f(std::move(owned)) {}
};

/// Everything a change could touch in the organization of `f`, as its owner sees it.
struct world {
  std::vector<store::member_record> members;
  std::vector<store::group_record> groups;
  std::vector<std::pair<std::string, std::vector<policy::statement>>> policies;

  friend bool operator==(const world&, const world&) = default;
};

world world_of(organization_fixture& f) {
  world w;
  w.members = expect(f.iam->list_members(f.owner));
  w.groups = expect(f.iam->list_groups(f.owner));
  for (auto& p : expect(f.iam->list_policies(f.owner))) {
    w.policies.emplace_back(p.id, std::move(p.statements));
  }
  return w;
}

std::vector<policy::statement> statements_of_json(const std::string& json) {
  const auto loaded = policy::load_policy(json);
  BOOST_REQUIRE(loaded.ok());
  return loaded.document->statements;
}

std::vector<policy::statement> builtin_statements(const std::string& id) {
  for (const auto& doc : builtins()) {
    if (doc.id == id) return doc.statements;
  }
  BOOST_FAIL("no built-in policy " << id);
  return {};
}

/// Whether `statements` allow the request, by the reference evaluator.
bool allows(const std::vector<policy::statement>& statements, const engine::request& r) {
  std::vector<engine::sourced_statement> sourced;
  for (const auto& s : statements) sourced.push_back({"granted", s});
  return engine::reference::evaluate(sourced, r.action, r.resource).decision == decision::allow;
}

/// A refusal names a real counterexample: `granted` allows it and `who` may not make it.
template <class T>
void expect_counterexample(const iam::outcome<T>& r, const iam::service& iam,
                           const iam::caller& who, const std::vector<policy::statement>& granted) {
  expect_failure(r, errc::forbidden);
  BOOST_REQUIRE_MESSAGE(r.error().counterexample.has_value(), "no counterexample");
  const engine::request ce = *r.error().counterexample;  // error() answers a copy
  BOOST_TEST(allows(granted, ce), ce.action << " on " << ce.resource << " is not granted");
  BOOST_TEST(iam.decide_only(who, ce.action, ce.resource) != decision::allow,
             ce.action << " on " << ce.resource << " is allowed to the caller");
}

template <class T>
std::optional<iam::failure> failure_of(const iam::outcome<T>& r) {
  if (r) return std::nullopt;
  return r.error();
}

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

// ---- Re-enabling needs the rights --------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_developer_cannot_switch_the_owners_service_token_back_on) {
  organization_fixture f;
  const auto dev = f.add("dev@example.com");
  const auto token = f.token(f.owner, "deployer", token_type::service, allow_delete_projects);
  expect(f.iam->toggle_token(f.owner, token.record.id));
  expect_failure(f.iam->authenticate_token(*token.secret), errc::forbidden);

  const auto refused = f.iam->toggle_token(dev, token.record.id);
  expect_counterexample(refused, *f.iam, dev, statements_of_json(allow_delete_projects));
  // Still off.
  expect_failure(f.iam->authenticate_token(*token.secret), errc::forbidden);
  const auto listed = expect(f.iam->list_tokens(f.owner, {}));
  BOOST_REQUIRE(listed.items.size() == 1U);
  BOOST_TEST((listed.items[0].record.status == store::token_status::inactive));

  // Switching off, renaming and deleting need only the manage action, as before.
  expect(f.iam->toggle_token(f.owner, token.record.id));
  BOOST_TEST((expect(f.iam->toggle_token(dev, token.record.id)).record.status ==
              store::token_status::inactive));
  BOOST_TEST(expect(f.iam->rename_token(dev, token.record.id, "renamed")).record.name == "renamed");
  expect(f.iam->delete_token(dev, token.record.id));
  expect_failure(f.iam->authenticate_token(*token.secret), errc::unauthorized);
}

BOOST_AUTO_TEST_CASE(a_demoted_creator_cannot_switch_their_service_token_back_on) {
  organization_fixture f;
  const auto admin = f.add("admin@example.com", {admin_id});
  const auto token = f.token(admin, "deployer", token_type::service, allow_delete_projects);
  // While they hold its rights, the creator switches it off and on.
  expect(f.iam->toggle_token(admin, token.record.id));
  expect(f.iam->toggle_token(admin, token.record.id));
  expect(f.iam->toggle_token(admin, token.record.id));

  expect(f.iam->attach_member_policy(f.owner, admin.member_id, developer_id));
  expect(f.iam->detach_member_policy(f.owner, admin.member_id, admin_id));
  const auto demoted = f.again(admin);
  expect_counterexample(f.iam->toggle_token(demoted, token.record.id), *f.iam, demoted,
                        statements_of_json(allow_delete_projects));
  expect_failure(f.iam->authenticate_token(*token.secret), errc::forbidden);
  // The owner may.
  expect(f.iam->toggle_token(f.owner, token.record.id));
  BOOST_TEST(f.iam->decide_only(f.use(token), "DeleteProject", "project/web") == decision::allow);
}

BOOST_AUTO_TEST_CASE(personal_tokens_need_their_creators_rights_within_their_scope) {
  organization_fixture f;
  const auto dev = f.add("dev@example.com");
  const auto admin = f.add("admin@example.com", {admin_id});

  // Unscoped: the owner's rights, which a Developer does not hold.
  const auto whole = f.token(f.owner, "whole", token_type::personal);
  expect(f.iam->toggle_token(f.owner, whole.record.id));
  const auto refused = f.iam->toggle_token(dev, whole.record.id);
  expect_counterexample(refused, *f.iam, dev, builtin_statements(owner_builtin_id));
  expect_failure(f.iam->toggle_token(admin, whole.record.id), errc::forbidden);
  // Its creator always may.
  expect(f.iam->toggle_token(f.owner, whole.record.id));
  BOOST_TEST(f.iam->authenticate_token(*whole.secret).has_value());

  // Scoped to what a Developer holds: holding the scope is holding the token's rights.
  const auto scoped = f.token(f.owner, "scoped", token_type::personal, allow_toggle);
  expect(f.iam->toggle_token(f.owner, scoped.record.id));
  expect(f.iam->toggle_token(dev, scoped.record.id));
  BOOST_TEST(f.iam->authenticate_token(*scoped.secret).has_value());

  // Scoped beyond the Developer: refused with a request the token itself would allow.
  const auto wider = f.token(f.owner, "wider", token_type::personal, allow_delete_projects);
  expect(f.iam->toggle_token(f.owner, wider.record.id));
  expect_counterexample(f.iam->toggle_token(dev, wider.record.id), *f.iam, dev,
                        statements_of_json(allow_delete_projects));
  expect_failure(f.iam->authenticate_token(*wider.secret), errc::forbidden);

  // A Developer's token may be switched on by an Administrator, who holds all of its rights.
  const auto devs = f.token(dev, "devs", token_type::personal);
  expect(f.iam->toggle_token(dev, devs.record.id));
  expect(f.iam->toggle_token(admin, devs.record.id));
  BOOST_TEST(f.iam->authenticate_token(*devs.secret).has_value());
}

// A personal token follows its creator, so the creator may switch it back on even after losing
// rights: the token can do no more than they can.
BOOST_AUTO_TEST_CASE(a_creator_always_may_switch_their_personal_token_back_on) {
  organization_fixture f;
  const auto tokens_only =
      f.policy("tokens-only", R"([{"id":"t","resourceType":"access-token","effect":"allow",)"
                              R"("actions":["ManagePersonalAccessTokens","ListAccessTokens"],)"
                              R"("resources":["access-token/*"]}])");
  const auto admin = f.add("admin@example.com", {admin_id, tokens_only});
  const auto token = f.token(admin, "mine", token_type::personal);
  expect(f.iam->toggle_token(admin, token.record.id));
  expect(f.iam->detach_member_policy(f.owner, admin.member_id, admin_id));
  const auto demoted = f.again(admin);
  expect(f.iam->toggle_token(demoted, token.record.id));
  const auto as_token = f.use(token);
  BOOST_TEST(f.iam->decide_only(as_token, "DeleteProject", "project/web") != decision::allow);
  BOOST_TEST(f.iam->decide_only(as_token, "ListAccessTokens", "access-token/*") == decision::allow);
}

// ---- Races -------------------------------------------------------------------------------------

// A member authenticated a moment before their removal still holds a caller with their old
// rights; creating a token with it must be refused inside the write, and nothing stored.
BOOST_AUTO_TEST_CASE(a_token_of_a_member_removed_meanwhile_is_never_stored) {
  counted_organization o;
  auto& f = o.f;
  const auto dev = f.add("dev@example.com");
  const auto kept = dev;
  expect(f.iam->remove_member(f.owner, dev.member_id));
  const auto commits = o.store->commits;
  const auto counts = f.iam->count_tokens();

  expect_failure(f.iam->create_token(kept, "late", token_type::personal, {}), errc::unauthorized);
  expect_failure(f.iam->create_token(kept, "late-service", token_type::service,
                                     testing::statements(allow_toggle)),
                 errc::unauthorized);
  BOOST_TEST(o.store->commits == commits);
  BOOST_TEST(expect(f.iam->list_tokens(f.owner, {.page_size = 100})).total_count == 0U);
  BOOST_TEST(!expect(f.iam->is_token_name_used(f.owner, "late")));
  const auto after = f.iam->count_tokens();
  BOOST_TEST(after.active == counts.active);
  BOOST_TEST(after.inactive == counts.inactive);
  BOOST_TEST(after.revoked == counts.revoked);
}

// ---- Tokens see their own rights ----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(tokens_answer_their_own_policies) {
  organization_fixture f;
  const auto dev = f.add("dev@example.com");

  const auto service = f.token(f.owner, "svc", token_type::service, allow_toggle);
  const auto check_service = [&] {
    const auto own = expect(f.iam->own_policies(f.use(service)));
    BOOST_REQUIRE(own.size() == 1U);
    BOOST_TEST(own[0].id == "access-token");
    BOOST_TEST((own[0].kind == iam::policy_kind::access_token));
    BOOST_TEST((own[0].statements == statements_of_json(allow_toggle)));
  };
  check_service();
  // Not the Owner's policies as if it were the owner, and still its own once the creator's
  // rights change.
  const auto second = f.add("second@example.com", {owner_builtin_id});
  expect(f.iam->remove_member(second, f.owner.member_id));
  check_service();

  // Unscoped personal: the creator's policies, nothing else.
  const auto unscoped = f.token(dev, "mine", token_type::personal);
  const auto own_unscoped = expect(f.iam->own_policies(f.use(unscoped)));
  BOOST_REQUIRE(own_unscoped.size() == 1U);
  BOOST_TEST(own_unscoped[0].id == developer_id);

  // Scoped personal: the scope first, then the creator's policies.
  const auto scoped = f.token(dev, "scoped", token_type::personal, allow_toggle);
  const auto own_scoped = expect(f.iam->own_policies(f.use(scoped)));
  BOOST_REQUIRE(own_scoped.size() == 2U);
  BOOST_TEST(own_scoped[0].id == "access-token");
  BOOST_TEST((own_scoped[0].kind == iam::policy_kind::access_token));
  BOOST_TEST((own_scoped[0].statements == statements_of_json(allow_toggle)));
  BOOST_TEST(own_scoped[1].id == developer_id);

  // A member answers their own policies.
  const auto own_dev = expect(f.iam->own_policies(dev));
  BOOST_REQUIRE(own_dev.size() == 1U);
  BOOST_TEST(own_dev[0].id == developer_id);
}

// ---- Token counts
// --------------------------------------------------------------------------------

/// Tokens by status as the organization's list shows them, every page of it.
iam::service::token_counts counted_by_listing(iam::service& iam, const iam::caller& owner) {
  iam::service::token_counts truth;
  for (std::size_t page = 0;; ++page) {
    const auto listed = expect(iam.list_tokens(owner, {.page_index = page, .page_size = 100}));
    for (const auto& t : listed.items) {
      switch (t.record.status) {
        case store::token_status::active:
          ++truth.active;
          break;
        case store::token_status::inactive:
          ++truth.inactive;
          break;
        case store::token_status::revoked:
          ++truth.revoked;
          break;
      }
    }
    if ((page + 1) * 100 >= listed.total_count) break;
  }
  return truth;
}

void expect_counts(iam::service& iam, const iam::caller& owner, std::size_t active,
                   std::size_t inactive, std::size_t revoked, const char* after) {
  const auto counted = iam.count_tokens();
  const auto truth = counted_by_listing(iam, owner);
  BOOST_TEST(truth.active == active, after);
  BOOST_TEST(truth.inactive == inactive, after);
  BOOST_TEST(truth.revoked == revoked, after);
  BOOST_TEST(counted.active == truth.active, after);
  BOOST_TEST(counted.inactive == truth.inactive, after);
  BOOST_TEST(counted.revoked == truth.revoked, after);
}

BOOST_AUTO_TEST_CASE(token_counts_follow_every_change) {
  temp_dir dir;
  const auto db = dir.path / "gatehouse.db";
  const auto key = test_key();
  std::string owner_member;
  std::string organization;
  {
    organization_fixture f(sqlite_at(db));
    auto& iam = *f.iam;
    owner_member = f.owner.member_id;
    organization = f.owner.organization_id;
    expect_counts(iam, f.owner, 0, 0, 0, "nothing");
    std::vector<iam::token_view> mine;
    for (int i = 0; i < 4; ++i) {
      mine.push_back(f.token(f.owner, "own-" + std::to_string(i), token_type::personal));
    }
    const auto dev = f.add("dev@example.com");
    const auto dev_a = f.token(dev, "dev-a", token_type::personal);
    const auto dev_b = f.token(dev, "dev-b", token_type::personal);
    const auto dev_svc = f.token(dev, "dev-svc", token_type::service, allow_toggle);
    expect_counts(iam, f.owner, 7, 0, 0, "creates");

    expect(iam.toggle_token(f.owner, mine[0].record.id));
    expect(iam.toggle_token(f.owner, mine[1].record.id));
    expect(iam.toggle_token(dev, dev_b.record.id));
    expect_counts(iam, f.owner, 4, 3, 0, "toggles off");
    expect(iam.toggle_token(f.owner, mine[1].record.id));
    expect_counts(iam, f.owner, 5, 2, 0, "a toggle on");

    // Refusals change nothing.
    expect_failure(iam.create_token(f.owner, "OWN-2", token_type::personal, {}), errc::name_used);
    expect_failure(iam.toggle_token(dev, mine[0].record.id), errc::forbidden);
    expect_counts(iam, f.owner, 5, 2, 0, "refusals");

    expect(iam.delete_token(f.owner, mine[2].record.id));  // active
    expect(iam.delete_token(f.owner, mine[0].record.id));  // inactive
    expect_counts(iam, f.owner, 4, 1, 0, "deletes");

    // Removal revokes the member's personal tokens, active (dev-a) and inactive (dev-b) alike;
    // the service token survives.
    expect(iam.remove_member(f.owner, dev.member_id));
    expect_counts(iam, f.owner, 3, 0, 2, "a removal");
    BOOST_TEST(f.iam->authenticate_token(*dev_svc.secret).has_value());
    expect_failure(iam.toggle_token(f.owner, dev_a.record.id), errc::conflict);
    expect(iam.delete_token(f.owner, dev_b.record.id));  // revoked
    expect_counts(iam, f.owner, 3, 0, 1, "deleting a revoked token");
  }
  // Counted afresh from the store, the counts are the same.
  auto reopened = expect(iam::service::open(sqlite_at(db), key, builtins()));
  const auto owner = expect(reopened->authenticate_member(owner_member, organization));
  expect_counts(*reopened, owner, 3, 0, 1, "reopen");
}

// ---- Stored statements that fail closed --------------------------------------------------------

// A database edited by hand holds statements that today's validator refuses. They load, and each
// fails closed on its own: a bad allow grants nothing, a bad deny denies its actions everywhere,
// everything else the member holds stays, and each is counted and logged.
BOOST_AUTO_TEST_CASE(stored_statements_that_do_not_compile_fail_closed_one_by_one) {
  temp_dir dir;
  const auto db = dir.path / "gatehouse.db";
  const auto key = test_key();
  std::string deep = "project/*";
  for (int i = 1; i < 17; ++i) deep += ":env/e" + std::to_string(i);     // 17 segments
  const std::string long_pattern = "project/" + std::string(1992, 'a');  // 2,000 bytes
  const std::string statements =
      R"([{"id":"deep-allow","resourceType":"project","effect":"allow",)"
      R"("actions":["DeleteProject"],"resources":[")" +
      deep +
      R"("]},)"
      R"({"id":"unknown-allow","resourceType":"project","effect":"allow",)"
      R"("actions":["CreateProject","FlyToTheMoon"],"resources":["project/*"]},)"
      R"({"id":"long-deny","resourceType":"flag","effect":"deny","actions":["ToggleFlag"],)"
      R"("resources":[")" +
      long_pattern +
      R"("]},)"
      R"({"id":"unknown-deny","resourceType":"env","effect":"deny",)"
      R"("actions":["CanAccessEnv","FlyToTheMoon"],"resources":["project/x:env/y"]},)"
      R"({"id":"deep-deny","resourceType":"flag","effect":"deny","actions":["UpdateFlagName"],)"
      R"("resources":[")" +
      deep +
      R"("]},)"
      R"({"id":"fine-deny","resourceType":"flag","effect":"deny","actions":["ArchiveFlag"],)"
      R"("resources":["project/*:env/prod:flag/*"]},)"
      R"({"id":"fine-allow","resourceType":"project","effect":"allow",)"
      R"("actions":["UpdateProjectSettings"],"resources":["project/web"]}])";
  BOOST_REQUIRE(!policy::load_policy(statements, policy::stored_policy).ok());
  // A service token stored with the same kind of statements.
  const auto secret = iam::generate_token_secret();
  BOOST_REQUIRE(secret.has_value());
  store::token_record token;
  token.id = "6b1f1c2e-5d0a-4c9e-8f3b-2a7d9e4c1b00";
  token.organization_id = "org";
  token.name = "legacy";
  token.type = token_type::service;
  token.creator_id = "owner";
  token.secret_hash = iam::secret_hasher(key).hash(*secret);
  token.secret_prefix = secret->substr(0, iam::secret_prefix_length);
  token.permissions_json =
      R"([{"id":"flags","resourceType":"flag","effect":"allow","actions":["*"],)"
      R"("resources":["project/*:env/*:flag/*"]},)"
      R"({"id":"bad-deny","resourceType":"flag","effect":"deny","actions":["DeleteFlag"],)"
      R"("resources":[")" +
      long_pattern + R"("]}])";
  token.created_at = token.updated_at = 1;
  {
    auto store = sqlite_at(db);
    const std::vector<store::change> changes = {
        store::put_organization{{"org", "acme", {developer_id}, 1}},
        store::put_member{{"owner", "org", "owner@example.com", {owner_builtin_id}, 1}},
        store::put_member{{"dev", "org", "dev@example.com", {developer_id, "p-bad"}, 2}},
        store::put_member{{"plain", "org", "plain@example.com", {developer_id}, 3}},
        store::put_policy{{"p-bad", "org", "bad", "bad", "", statements, 1, 1}},
        store::put_token{token},
    };
    BOOST_REQUIRE(!store->commit(changes));
  }

  std::vector<std::string> log;
  iam::hooks hooks;
  hooks.log = [&](std::string_view line) { log.emplace_back(line); };
  auto iam = expect(iam::service::open(sqlite_at(db), key, builtins(), {}, hooks));
  const auto dev = expect(iam->authenticate_member("dev", "org"));
  const auto decide = [&](const iam::caller& who, const char* action, const std::string& resource) {
    return iam->decide_only(who, action, resource);
  };

  // Bad allows grant nothing, not even their valid action, nor on the very name they spell.
  BOOST_TEST(decide(dev, "DeleteProject", "project/web") == decision::implicit_deny);
  BOOST_TEST(decide(dev, "DeleteProject", deep) == decision::implicit_deny);
  BOOST_TEST(decide(dev, "CreateProject", "project/web") == decision::implicit_deny);
  // Bad denies deny their actions on every resource, the listed ones of an unknown pair too.
  for (const std::string& resource : {flag, std::string("project/a:env/dev:flag/b"), deep}) {
    BOOST_TEST(decide(dev, "ToggleFlag", resource) == decision::explicit_deny, resource);
    BOOST_TEST(decide(dev, "UpdateFlagName", resource) == decision::explicit_deny, resource);
  }
  BOOST_TEST(decide(dev, "CanAccessEnv", "project/web:env/dev") == decision::explicit_deny);
  const auto named = iam->decide(dev, "ToggleFlag", flag);
  BOOST_REQUIRE(named.statements.size() == 1U);
  BOOST_TEST(named.statements[0].policy_id == "p-bad");
  BOOST_TEST(named.statements[0].statement_id == "long-deny");
  // Never deny-all: the member's other rights stay, the good statements work.
  BOOST_TEST(decide(dev, "DeleteFlag", flag) == decision::allow);
  BOOST_TEST(decide(dev, "CanAccessProject", "project/web") == decision::allow);
  BOOST_TEST(decide(dev, "ArchiveFlag", flag) == decision::explicit_deny);
  BOOST_TEST(decide(dev, "ArchiveFlag", "project/web:env/dev:flag/x") == decision::allow);
  BOOST_TEST(decide(dev, "UpdateProjectSettings", "project/web") == decision::allow);
  // Whoever does not hold the policy is untouched.
  const auto plain = expect(iam->authenticate_member("plain", "org"));
  BOOST_TEST(decide(plain, "ToggleFlag", flag) == decision::allow);
  const auto owner = expect(iam->authenticate_member("owner", "org"));
  BOOST_TEST(decide(owner, "UpdateFlagName", flag) == decision::allow);

  // The stored token: its bad deny denies DeleteFlag everywhere; the rest of it stays.
  const auto legacy = expect(iam->authenticate_token(*secret));
  BOOST_TEST(decide(legacy, "ToggleFlag", flag) == decision::allow);
  BOOST_TEST(decide(legacy, "DeleteFlag", flag) == decision::explicit_deny);
  BOOST_TEST(decide(legacy, "DeleteFlag", "project/q:env/r:flag/s") == decision::explicit_deny);

  // Counted and logged, one line each, naming the statement.
  const std::vector<std::string> failed = {"deep-allow",   "unknown-allow", "long-deny",
                                           "unknown-deny", "deep-deny",     "bad-deny"};
  BOOST_TEST(iam->statements_failed_closed() == failed.size());
  BOOST_TEST(log.size() == failed.size());
  for (const auto& id : failed) {
    const auto lines = std::count_if(log.begin(), log.end(), [&](const std::string& line) {
      return line.find("\"" + id + "\"") != std::string::npos;
    });
    BOOST_TEST(lines == 1, id);
  }
  for (const auto& line : log) {
    BOOST_TEST(line.find("fine-") == std::string::npos, line);
    BOOST_TEST(line.find(*secret) == std::string::npos);
  }
}

// A deny written by hand in the wrong shape, its actions or resources a string instead of a
// list, does not validate either; it must fail closed like the others, not lose its effect.
BOOST_AUTO_TEST_CASE(stored_denies_of_the_wrong_shape_fail_closed) {
  temp_dir dir;
  const auto db = dir.path / "gatehouse.db";
  const auto key = test_key();
  const std::string statements =
      R"([{"id":"string-actions","resourceType":"flag","effect":"deny","actions":"ToggleFlag",)"
      R"("resources":["project/*:env/*:flag/*"]},)"
      R"({"id":"string-resources","resourceType":"flag","effect":"deny",)"
      R"("actions":["DeleteFlag"],"resources":"project/*:env/*:flag/*"}])";
  BOOST_REQUIRE(!policy::load_policy(statements, policy::stored_policy).ok());
  {
    auto store = sqlite_at(db);
    const std::vector<store::change> changes = {
        store::put_organization{{"org", "acme", {developer_id}, 1}},
        store::put_member{{"owner", "org", "owner@example.com", {owner_builtin_id}, 1}},
        store::put_member{{"dev", "org", "dev@example.com", {developer_id, "p-shape"}, 2}},
        store::put_policy{{"p-shape", "org", "shape", "shape", "", statements, 1, 1}},
    };
    BOOST_REQUIRE(!store->commit(changes));
  }
  std::vector<std::string> log;
  iam::hooks hooks;
  hooks.log = [&](std::string_view line) { log.emplace_back(line); };
  auto iam = expect(iam::service::open(sqlite_at(db), key, builtins(), {}, hooks));
  const auto dev = expect(iam->authenticate_member("dev", "org"));
  BOOST_TEST(iam->decide_only(dev, "ToggleFlag", flag) != decision::allow);
  BOOST_TEST(iam->decide_only(dev, "DeleteFlag", flag) != decision::allow);
  BOOST_TEST(iam->statements_failed_closed() >= 2U);
  for (const std::string id : {"string-actions", "string-resources"}) {
    BOOST_TEST(std::any_of(log.begin(), log.end(),
                           [&](const std::string& line) {
                             return line.find("\"" + id + "\"") != std::string::npos;
                           }),
               id);
  }
}

BOOST_AUTO_TEST_SUITE_END()
