// A change and its audit record commit together or not at all (SPEC §13): the SQLite store is
// made to fail inside the commit, on the record's row or on the change's, and neither the
// service's memory nor the database may keep one without the other.
#include <gatehouse/iam/service.hpp>
#include <gatehouse/store/database.hpp>

#include <sqlite3.h>

#include <boost/test/unit_test.hpp>
#include <string>

#include "iam_fixture.hpp"

namespace gatehouse::testing {
namespace {

/// Runs `sql` on the database file through a connection of its own, as an operator would.
void run_sql(const std::filesystem::path& file, const std::string& sql) {
  sqlite3* db = nullptr;
  BOOST_REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  char* message = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
  const std::string error = message != nullptr ? message : "";
  sqlite3_free(message);
  sqlite3_close(db);
  BOOST_REQUIRE_MESSAGE(rc == SQLITE_OK, sql << ": " << error);
}

struct audited_file {
  temp_dir dir;
  std::filesystem::path db = dir.path / "gatehouse.db";
  iam::server_key key = test_key();

  std::unique_ptr<iam::service> open() {
    return expect(iam::service::open(sqlite_at(db), key, builtins()));
  }
};

std::size_t records(iam::service& iam, const iam::caller& owner) {
  store::audit_query q;
  q.page_size = 1;
  return expect(iam.audit_log(owner, q)).total_count;
}

BOOST_AUTO_TEST_SUITE(audit_commit)

BOOST_AUTO_TEST_CASE(a_change_whose_record_fails_is_not_made) {
  audited_file file;
  std::string token_id;
  std::string member_id;
  std::string organization_id;
  std::size_t before = 0;
  {
    auto iam = file.open();
    const auto [org, owner_record] = expect(iam->create_organization("acme", "owner@example.com"));
    organization_id = org.id;
    member_id = owner_record.id;
    const auto owner = expect(iam->authenticate_member(member_id, organization_id));
    token_id = expect(iam->create_token(owner, "ci", store::token_type::personal, {})).record.id;
    before = records(*iam, owner);

    // The audit row fails inside the commit, after the change's own rows were written.
    run_sql(file.db,
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'audit refused'); END;");
    expect_failure(iam->create_token(owner, "second", store::token_type::personal, {}),
                   iam::errc::storage_failure);
    expect_failure(iam->rename_token(owner, token_id, "renamed"), iam::errc::storage_failure);
    expect_failure(iam->toggle_token(owner, token_id), iam::errc::storage_failure);
    expect_failure(iam->add_member(owner, {"dev@example.com", {}, {}}), iam::errc::storage_failure);
    expect_failure(iam->create_group(owner, "ops", ""), iam::errc::storage_failure);
    expect_failure(iam->create_policy(owner, "p", "p", ""), iam::errc::storage_failure);

    // Nothing changed in memory...
    const auto listed = expect(iam->list_tokens(owner, {}));
    BOOST_TEST_REQUIRE(listed.items.size() == 1U);
    BOOST_TEST(listed.items[0].record.name == "ci");
    BOOST_TEST((listed.items[0].record.status == store::token_status::active));
    BOOST_TEST(expect(iam->list_members(owner)).size() == 1U);
    BOOST_TEST(expect(iam->list_groups(owner)).empty());
    run_sql(file.db, "DROP TRIGGER refuse_audit");
  }
  // ... nor in the database.
  auto iam = file.open();
  const auto owner = expect(iam->authenticate_member(member_id, organization_id));
  const auto listed = expect(iam->list_tokens(owner, {}));
  BOOST_TEST_REQUIRE(listed.items.size() == 1U);
  BOOST_TEST(listed.items[0].record.name == "ci");
  BOOST_TEST(expect(iam->list_members(owner)).size() == 1U);
  BOOST_TEST(expect(iam->list_groups(owner)).empty());
  BOOST_TEST(records(*iam, owner) == before);

  // Once the store takes records again, a change and its record land together.
  expect(iam->rename_token(owner, token_id, "renamed"));
  BOOST_TEST(records(*iam, owner) == before + 1);
}

BOOST_AUTO_TEST_CASE(a_record_whose_change_fails_is_not_kept) {
  audited_file file;
  auto iam = file.open();
  const auto [org, owner_record] = expect(iam->create_organization("acme", "owner@example.com"));
  const auto owner = expect(iam->authenticate_member(owner_record.id, org.id));
  const auto token_id =
      expect(iam->create_token(owner, "ci", store::token_type::personal, {})).record.id;
  const auto before = records(*iam, owner);
  // The change's row fails; its record was already written in the same transaction.
  run_sql(file.db,
          "CREATE TRIGGER refuse_tokens BEFORE UPDATE ON tokens "
          "BEGIN SELECT RAISE(ABORT, 'tokens refused'); END;");
  run_sql(file.db,
          "CREATE TRIGGER refuse_members BEFORE INSERT ON members "
          "BEGIN SELECT RAISE(ABORT, 'members refused'); END;");
  expect_failure(iam->toggle_token(owner, token_id), iam::errc::storage_failure);
  expect_failure(iam->rotate_token(owner, token_id, 0), iam::errc::storage_failure);
  expect_failure(iam->add_member(owner, {"dev@example.com", {}, {}}), iam::errc::storage_failure);
  BOOST_TEST(records(*iam, owner) == before);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace gatehouse::testing
