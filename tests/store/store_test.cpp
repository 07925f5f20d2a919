// The stores' commit semantics, on every backend (store_conformance): every change kind
// round-trips through close and reopen, erasing detaches, a failed commit applies nothing, commits
// from several threads all land. And the memory store keeps nothing.
#include <gatehouse/store/database.hpp>

#include <sqlite3.h>

#include <atomic>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <functional>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "store_fixture.hpp"

namespace {

using namespace gatehouse::store;
using namespace gatehouse::store::testing;

namespace data = boost::unit_test::data;

BOOST_AUTO_TEST_SUITE(store_conformance)

BOOST_DATA_TEST_CASE(every_change_kind_round_trips_through_reopen, data::make(backends()),
                     backend) {
  scratch_store db(backend);
  auto s = db.open();
  model want;

  auto service = token("t-2", "acme", "Deploy bot");
  service.type = token_type::service;
  service.status = token_status::inactive;
  service.creator_id = "m-2";
  service.permissions_json = read_flags;
  service.expires_at = t0 + 86'400'000;
  service.previous_secret_hash = token("t-9", "acme", "x").secret_hash;
  service.previous_valid_until = t0 + 60'000;
  auto renamed = token("t-1", "acme", "Renamed");
  renamed.status = token_status::revoked;
  renamed.updated_at = t0 + 100;
  auto changed_policy = policy("p-1", "acme", "[]");
  changed_policy.name = "Nothing";
  changed_policy.updated_at = t0 + 200;
  auto renamed_org = organization("acme", {"administrator", "p-1"});
  renamed_org.name = "Acme Corporation";

  struct step {
    const char* name;
    std::vector<change> changes;
  };
  const std::vector<step> steps{
      // The group comes before its members: order inside one commit does not matter.
      {"create",
       {put_group{group("g-1", "acme", {"m-1", "m-2"}, {"p-1", "developer"})},
        put_organization{organization("acme", {"developer", "p-1"})},
        put_organization{organization("globex")}, put_policy{policy("p-1", "acme", read_flags)},
        put_member{member("m-1", "acme", {"owner", "p-1"})}, put_member{member("m-2", "acme")},
        put_member{member("m-3", "acme", {"developer"})}, put_token{token("t-1", "acme", "Deploy")},
        put_token{service},
        // The same name in another organization is another name.
        put_token{token("t-3", "globex", "deploy")}}},
      {"replace",
       {put_organization{renamed_org}, put_member{member("m-1", "acme", {"p-1"})},
        put_group{group("g-1", "acme", {"m-2", "m-3", "m-1"}, {"p-1", "developer"})},
        put_policy{changed_policy}, put_token{renamed},
        // t-1 gave up "Deploy" in the change before; another token may take it in any case.
        put_token{token("t-4", "acme", "DEPLOY")}}},
      {"touch",
       {touch_token{"t-1", t0 + 1000}, touch_token{"t-2", t0}, touch_token{"t-404", t0 + 1000}}},
      {"erase member", {erase_member{"m-2"}}},
      {"erase policy", {erase_policy{"p-1"}}},
      {"erase group", {erase_group{"g-1"}}},
      {"erase token", {erase_token{"t-2"}, erase_token{"t-404"}}},
  };
  for (const auto& st : steps) {
    BOOST_TEST_CONTEXT("step " << st.name) {
      commit_or_fail(*s, st.changes);
      want.apply(st.changes);
      // The open store and a restarted one see the same.
      check_equal(load_or_fail(*s), want.expected());
      BOOST_TEST(s->token_count() == want.expected().tokens.size());
      s.reset();
      s = db.open();
      check_equal(load_or_fail(*s), want.expected());
      BOOST_TEST(s->token_count() == want.expected().tokens.size());
    }
  }

  // The semantics the model encodes, stated once without it.
  s.reset();
  const auto got = reopen_and_load(db);
  BOOST_TEST(got.groups.empty());
  BOOST_REQUIRE_EQUAL(got.members.size(), 2U);
  BOOST_TEST(got.members[0].id == "m-1");
  BOOST_TEST(got.members[0].policy_ids.empty());  // p-1 was erased
  BOOST_TEST(got.members[1].id == "m-3");
  BOOST_REQUIRE_EQUAL(got.organizations.size(), 2U);
  BOOST_TEST(got.organizations[0].default_policy_ids == std::vector<std::string>{"administrator"});
  BOOST_TEST(got.policies.empty());
  BOOST_REQUIRE_EQUAL(got.tokens.size(), 3U);
  BOOST_TEST(got.tokens[0].id == "t-1");
  BOOST_TEST(got.tokens[0].last_used_at == t0 + 1000);
  BOOST_TEST(got.tokens[0].name == "Renamed");
  BOOST_TEST((got.tokens[0].status == token_status::revoked));
}

BOOST_DATA_TEST_CASE(erasing_a_member_or_policy_detaches_it_everywhere, data::make(backends()),
                     backend) {
  scratch_store db(backend);
  auto s = db.open();
  commit_or_fail(*s, {put_organization{organization("acme", {"p-1", "developer"})},
                      put_policy{policy("p-1", "acme", read_flags)},
                      put_member{member("m-1", "acme", {"p-1"})}, put_member{member("m-2", "acme")},
                      put_group{group("g-1", "acme", {"m-1", "m-2"}, {"developer", "p-1"})},
                      put_group{group("g-2", "acme", {"m-2"}, {"p-1"})}});
  commit_or_fail(*s, {erase_member{"m-2"}, erase_policy{"p-1"}});
  const auto got = reopen_and_load(db);
  BOOST_REQUIRE_EQUAL(got.groups.size(), 2U);
  BOOST_TEST(got.groups[0].member_ids == std::vector<std::string>{"m-1"});
  BOOST_TEST(got.groups[0].policy_ids == std::vector<std::string>{"developer"});
  BOOST_TEST(got.groups[1].member_ids.empty());
  BOOST_TEST(got.groups[1].policy_ids.empty());
  BOOST_REQUIRE_EQUAL(got.members.size(), 1U);
  BOOST_TEST(got.members[0].policy_ids.empty());
  BOOST_TEST(got.organizations[0].default_policy_ids == std::vector<std::string>{"developer"});
}

// A commit that fails at its last change; everything before it must be rolled back too.
struct failing_commit {
  const char* name;
  /// The token that fails the commit; none for the case of a group with an unknown member.
  std::function<token_record()> bad_token;
  /// What SQLite answers; other backends are checked by meaning only (refused, not unreachable).
  int sqlite_code;
};
std::ostream& operator<<(std::ostream& os, const failing_commit& c) { return os << c.name; }

const failing_commit failing_commits[] = {
    {"a stored token's name in another case", [] { return token("t-9", "acme", "dEPLOY"); },
     SQLITE_CONSTRAINT_UNIQUE},
    {"a stored token's secret hash",
     [] {
       auto t = token("t-9", "acme", "Other");
       t.secret_hash = sha256("secret of t-1");
       return t;
     },
     SQLITE_CONSTRAINT_UNIQUE},
    {"an unknown organization", [] { return token("t-9", "nowhere", "Other"); },
     SQLITE_CONSTRAINT_FOREIGNKEY},
    {"a whole secret as the prefix",
     [] {
       auto t = token("t-9", "acme", "Other");
       t.secret_prefix = "api-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
       return t;
     },
     SQLITE_CONSTRAINT_CHECK},
    {"a group with an unknown member", nullptr, SQLITE_CONSTRAINT_FOREIGNKEY},
};

BOOST_DATA_TEST_CASE(a_failed_commit_applies_nothing,
                     data::make(backends()) * data::make(failing_commits), backend, c) {
  scratch_store db(backend);
  auto s = db.open();
  const std::vector<change> baseline{
      put_organization{organization("acme")}, put_member{member("m-1", "acme")},
      put_token{token("t-1", "acme", "Deploy")}, put_token{token("t-2", "acme", "Release")}};
  commit_or_fail(*s, baseline);
  model want;
  want.apply(baseline);

  std::vector<change> changes{put_member{member("m-9", "acme", {"owner"})},
                              put_member{member("m-1", "acme", {"developer"})},
                              touch_token{"t-1", t0 + 999}, erase_token{"t-2"},
                              put_token{token("t-8", "acme", "Build")}};
  if (c.bad_token) {
    changes.emplace_back(put_token{c.bad_token()});
  } else {
    changes.emplace_back(put_group{group("g-9", "acme", {"m-1", "m-404"}, {})});
  }
  const auto ec = s->commit(changes);
  BOOST_REQUIRE(ec.failed());
  // Refused for what it holds, not for want of a database: retrying would not help.
  BOOST_CHECK_MESSAGE(!is_unavailable(ec), "got " << ec.message());
  if (backend == "sqlite") {
    BOOST_TEST(ec.category().name() == std::string(sqlite_category().name()));
    BOOST_CHECK_MESSAGE(ec.value() == c.sqlite_code, "got " << ec.message());
  }
  // Messages name the failure, never the records.
  for (const char* content : {"m-9", "t-9", "Deploy", "dEPLOY", "acme", "AAAA"}) {
    BOOST_TEST(ec.message().find(content) == std::string::npos);
  }
  check_equal(load_or_fail(*s), want.expected());
  check_equal(reopen_and_load(db), want.expected());

  // The store stays usable.
  const std::vector<change> next{put_member{member("m-9", "acme")}};
  commit_or_fail(*s, next);
  want.apply(next);
  check_equal(reopen_and_load(db), want.expected());
}

BOOST_DATA_TEST_CASE(names_differing_only_in_case_in_one_commit_fail_it, data::make(backends()),
                     backend) {
  scratch_store db(backend);
  auto s = db.open();
  commit_or_fail(*s, {put_organization{organization("acme")}});
  const std::vector<change> changes{put_token{token("t-1", "acme", "Build")},
                                    put_token{token("t-2", "acme", "bUILD")}};
  const auto ec = s->commit(changes);
  BOOST_TEST(ec.failed());
  BOOST_CHECK_MESSAGE(!is_unavailable(ec), "got " << ec.message());
  if (backend == "sqlite") BOOST_TEST(ec.value() == SQLITE_CONSTRAINT_UNIQUE);
  BOOST_TEST(reopen_and_load(db).tokens.empty());
}

BOOST_DATA_TEST_CASE(commits_from_several_threads_all_land, data::make(backends()), backend) {
  scratch_store db(backend);
  auto s = db.open();
  commit_or_fail(*s, {put_organization{organization("acme")}});
  constexpr int threads = 4;
  constexpr int per_thread = 20;
  // Built here: Boost.Test assertions (in token()) are not for other threads.
  std::vector<std::vector<change>> work(threads);
  for (int w = 0; w < threads; ++w) {
    for (int i = 0; i < per_thread; ++i) {
      const auto id = "t-" + std::to_string(w) + "-" + std::to_string(i);
      work[w].emplace_back(put_token{token(id, "acme", id)});
    }
  }
  std::vector<std::thread> workers;
  workers.reserve(threads);
  std::atomic<int> failures{0};
  for (const auto& changes : work) {
    workers.emplace_back([&] {
      for (const auto& c : changes) {
        if (s->commit({&c, 1})) ++failures;
      }
    });
  }
  for (auto& w : workers) w.join();
  BOOST_TEST(failures.load() == 0);
  BOOST_TEST(reopen_and_load(db).tokens.size() == std::size_t{threads} * per_thread);
}

BOOST_AUTO_TEST_SUITE_END()

// ---- the memory store ------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(store_tests)

BOOST_AUTO_TEST_CASE(the_memory_store_keeps_nothing) {
  auto s = make_memory();
  const std::vector<change> changes{put_organization{organization("acme")},
                                    put_token{token("t-1", "nowhere", "x")}, erase_member{"m"}};
  BOOST_TEST(!s->commit(changes).failed());
  int tokens = 0;
  const auto loaded = s->load([&](token_record&&) { ++tokens; });
  BOOST_REQUIRE(loaded.has_value());
  BOOST_TEST(loaded->organizations.empty());
  BOOST_TEST(tokens == 0);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
