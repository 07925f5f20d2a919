// SPEC §10 for access tokens through the IAM service's interface: re-enabling a token needs its
// rights, the removal race, what tokens see of their own rights, and token counts kept on every
// change.
#include <gatehouse/iam/service.hpp>

#include <gatehouse/policy/document.hpp>
#include <gatehouse/store/database.hpp>

#include <algorithm>
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

}  // namespace

BOOST_AUTO_TEST_SUITE(iam_token_rights_tests)

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

BOOST_AUTO_TEST_SUITE_END()
