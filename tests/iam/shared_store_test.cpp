// Two IAM services on one PostgreSQL database (SPEC §12), as two instances: what one commits, the
// other applies to memory by following the change log — members, groups, policies and tokens,
// their removal and its consequences — and an instance the log no longer reaches back to reloads.
// Runs only when GATEHOUSE_TEST_POSTGRES_DIR names the test cluster (ctest's iam_postgresql_test).
#include <gatehouse/iam/service.hpp>

#include <gatehouse/policy/document.hpp>
#include <gatehouse/store/database.hpp>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "../store/store_fixture.hpp"
#include "iam_fixture.hpp"

namespace {

using namespace gatehouse;
using namespace std::chrono_literals;
using gatehouse::testing::developer_id;
using store::testing::scratch_store;

struct cluster_given {
  boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) const {
    return store::testing::postgres_dir() != nullptr;
  }
};

/// One instance on the database of `db`, with keys every instance of the test shares.
std::unique_ptr<iam::service> instance(const scratch_store& db,
                                       std::chrono::seconds retention = 24h) {
  static const auto key = iam::server_key::generate();
  BOOST_REQUIRE(key.has_value());
  auto opened =
      iam::service::open(db.open({.key_fingerprint = "test-keys", .change_retention = retention}),
                         *key, gatehouse::testing::builtins());
  BOOST_REQUIRE_MESSAGE(opened.has_value(), "open: " << opened.error().detail);
  return std::move(*opened);
}

/// Applies what the other instance committed; fails the test when the store does not answer.
std::size_t follow(iam::service& s) {
  const auto applied = s.follow_changes(0ms);
  BOOST_REQUIRE_MESSAGE(applied.has_value(), "follow_changes: " << applied.error().detail);
  return *applied;
}

const auto toggle = R"([{"id": "toggle", "resourceType": "flag", "effect": "allow",
  "actions": ["ToggleFlag"], "resources": ["project/web:env/*:flag/*"]}])";

/// The value of `r`, which must have succeeded.
template <class T>
T ok(iam::outcome<T> r, const char* what) {
  BOOST_REQUIRE_MESSAGE(r.has_value(), what << ": " << (r ? "" : r.error().detail));
  return std::move(*r);
}

/// Whether `r` failed with `code`.
template <class T>
bool fails_with(const iam::outcome<T>& r, iam::errc code) {
  return !r.has_value() && r.error().code == code;
}

std::vector<policy::statement> statements(std::string_view json) {
  auto loaded = policy::load_policy(json);
  BOOST_REQUIRE(loaded.ok());
  return loaded.document->statements;
}

BOOST_AUTO_TEST_SUITE(shared_store, *boost::unit_test::precondition(cluster_given()))

BOOST_AUTO_TEST_CASE(an_instance_applies_what_another_committed) {
  scratch_store db("postgresql");
  auto a = instance(db);
  auto b = instance(db);
  const auto [org, owner_record] = *a->create_organization("acme", "owner@acme.example");
  const auto owner = *a->authenticate_member(owner_record.id, org.id);
  BOOST_TEST(!b->authenticate_member(owner_record.id, org.id).has_value());
  BOOST_TEST(follow(*b) >= 2U);
  BOOST_TEST(b->authenticate_member(owner_record.id, org.id).has_value());
  BOOST_TEST(b->applied_change_id() > 0);

  // A member with a policy of the organization's own, in a group; a Developer with a personal
  // token; a service token.
  const auto policy = ok(a->create_policy(owner, "Toggle web", "toggle-web", ""), "policy");
  BOOST_REQUIRE(a->set_policy_statements(owner, policy.id, statements(toggle)).has_value());
  const auto dev = ok(a->add_member(owner, {"dev@acme.example", {policy.id}, {}}), "dev");
  const auto group = ok(a->create_group(owner, "web", ""), "group");
  BOOST_REQUIRE(a->add_group_member(owner, group.id, dev.id).has_value());
  const auto ops = ok(a->add_member(owner, {"ops@acme.example", {developer_id}, {}}), "ops");
  const auto personal = ok(a->create_token(ok(a->authenticate_member(ops.id, org.id), "ops"),
                                           "ops-personal", store::token_type::personal, {}),
                           "personal token");
  const auto service =
      ok(a->create_token(owner, "deploy", store::token_type::service, statements(toggle)),
         "service token");
  follow(*b);

  const auto dev_on_b = b->authenticate_member(dev.id, org.id);
  BOOST_REQUIRE(dev_on_b.has_value());
  BOOST_TEST(b->decide(*dev_on_b, "ToggleFlag", "project/web:env/prod:flag/x").allowed());
  BOOST_TEST(!b->decide(*dev_on_b, "ToggleFlag", "project/api:env/prod:flag/x").allowed());
  const auto groups = b->list_groups(owner);
  BOOST_REQUIRE(groups.has_value());
  BOOST_REQUIRE(groups->size() == 1U);
  BOOST_TEST(groups->front().member_ids == std::vector<std::string>{dev.id});
  const auto service_on_b = b->authenticate_token(*service.secret);
  BOOST_REQUIRE(service_on_b.has_value());
  BOOST_TEST(b->decide(*service_on_b, "ToggleFlag", "project/web:env/dev:flag/y").allowed());
  BOOST_TEST(b->authenticate_token(*personal.secret).has_value());
  BOOST_TEST(b->count_tokens().active == 2U);

  // Edits reach B: the policy narrowed, the service token deactivated.
  BOOST_REQUIRE(a->set_policy_statements(owner, policy.id, statements(R"([])")).has_value());
  BOOST_REQUIRE(a->toggle_token(owner, service.record.id).has_value());
  follow(*b);
  BOOST_TEST(!b->decide(*b->authenticate_member(dev.id, org.id), "ToggleFlag",
                        "project/web:env/prod:flag/x")
                  .allowed());
  BOOST_TEST(fails_with(b->authenticate_token(*service.secret), iam::errc::forbidden));

  // Members leave on A: on B they are gone, out of the group, and their personal tokens dead.
  BOOST_REQUIRE(a->remove_member(owner, dev.id).has_value());
  BOOST_REQUIRE(a->remove_member(owner, ops.id).has_value());
  BOOST_REQUIRE(a->delete_policy(owner, policy.id).has_value());
  follow(*b);
  BOOST_TEST(!b->authenticate_member(dev.id, org.id).has_value());
  BOOST_TEST(fails_with(b->authenticate_token(*personal.secret), iam::errc::unauthorized));
  BOOST_TEST(b->list_groups(owner)->front().member_ids.empty());
  BOOST_TEST(!b->get_policy(owner, policy.id).has_value());

  // Nothing B commits is lost on A either. B reads its own change again, which changes nothing,
  // and then a follow with nothing new applies nothing.
  BOOST_REQUIRE(b->delete_token(owner, service.record.id).has_value());
  follow(*a);
  BOOST_TEST(fails_with(a->authenticate_token(*service.secret), iam::errc::unauthorized));
  BOOST_TEST(follow(*b) == 1U);
  BOOST_TEST(fails_with(b->authenticate_token(*service.secret), iam::errc::unauthorized));
  BOOST_TEST(b->count_tokens().inactive == 0U);
  BOOST_TEST(follow(*b) == 0U);
}

BOOST_AUTO_TEST_CASE(an_instance_the_log_left_behind_reloads_everything) {
  scratch_store db("postgresql");
  // A keeps no log: every commit prunes all entries before it, so B falls behind the log.
  auto a = instance(db, 0s);
  auto b = instance(db);
  const auto [org, owner_record] = *a->create_organization("acme", "owner@acme.example");
  const auto owner = *a->authenticate_member(owner_record.id, org.id);
  const auto token =
      ok(a->create_token(owner, "deploy", store::token_type::service, statements(toggle)),
         "service token");
  const auto dev = ok(a->add_member(owner, {"dev@acme.example", {}, {}}), "dev");
  BOOST_TEST(follow(*b) == 0U);  // a reload, not a batch of changes
  BOOST_TEST(b->authenticate_member(dev.id, org.id).has_value());
  BOOST_TEST(b->authenticate_token(*token.secret).has_value());
  BOOST_TEST(b->count_tokens().active == 1U);
  BOOST_TEST(b->applied_change_id() > 0);

  // Reloaded, it goes on from where the reload left it, and a second reload counts nothing twice.
  BOOST_REQUIRE(a->delete_token(owner, token.record.id).has_value());
  follow(*b);
  BOOST_TEST(!b->authenticate_token(*token.secret).has_value());
  BOOST_TEST(b->count_tokens().active == 0U);
}

// SPEC §12: the built-in policies of a shared store are its newest generation. The first
// instance publishes its own; a reload on any instance publishes a new one, which the others
// adopt as they follow, and an instance started later adopts it over its own files.
BOOST_AUTO_TEST_CASE(the_newest_built_in_generation_wins_on_every_instance) {
  scratch_store db("postgresql");
  auto a = instance(db);
  auto b = instance(db);
  BOOST_REQUIRE(a->share_builtins().has_value());
  const auto [org, owner_record] = *a->create_organization("acme", "owner@acme.example");
  const auto owner = *a->authenticate_member(owner_record.id, org.id);
  const auto dev = ok(a->add_member(owner, {"dev@acme.example", {developer_id}, {}}), "dev");
  follow(*b);
  const auto toggles = [&](iam::service& s) {
    const auto who = s.authenticate_member(dev.id, org.id);
    BOOST_REQUIRE(who.has_value());
    return s.decide(*who, "ToggleFlag", "project/web:env/prod:flag/x").allowed();
  };
  BOOST_TEST(toggles(*a));
  BOOST_TEST(toggles(*b));

  // A reloads a Developer that may not toggle flags.
  auto narrowed = gatehouse::testing::builtins();
  for (auto& doc : narrowed) {
    if (doc.id != developer_id) continue;
    std::erase_if(doc.statements, [](const policy::statement& st) {
      return std::find(st.actions.begin(), st.actions.end(), "ToggleFlag") != st.actions.end() ||
             std::find(st.actions.begin(), st.actions.end(), "*") != st.actions.end();
    });
  }
  BOOST_REQUIRE(a->replace_builtins(narrowed).has_value());
  BOOST_TEST(!toggles(*a));
  BOOST_TEST(toggles(*b));  // until it follows
  follow(*b);
  BOOST_TEST(!toggles(*b));

  // A third instance, started with the original files, uses the database's generation; sharing
  // again changes nothing.
  auto c = instance(db);
  BOOST_TEST(!toggles(*c));
  BOOST_REQUIRE(c->share_builtins().has_value());
  follow(*a);
  BOOST_TEST(!toggles(*a));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
