// Stored statements that today's validator refuses, through the IAM service's interface: they
// load, and each fails closed on its own.
#include <gatehouse/iam/service.hpp>

#include <gatehouse/iam/secrets.hpp>
#include <gatehouse/policy/document.hpp>
#include <gatehouse/store/database.hpp>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "iam_fixture.hpp"
#include "random_policy.hpp"  // prints decisions

namespace {

using namespace gatehouse;
using namespace gatehouse::testing;
using engine::decision;
using store::token_type;

}  // namespace

BOOST_AUTO_TEST_SUITE(iam_fail_closed_tests)

/// A database at `db` written by hand: organization "org", its owner, and member "dev" holding
/// Developer and policy `policy_id` with `statements`; then `more`.
void write_store(const std::filesystem::path& db, const std::string& policy_id,
                 const std::string& statements, const std::vector<store::change>& more = {}) {
  auto store = sqlite_at(db);
  std::vector<store::change> changes = {
      store::put_organization{{"org", "acme", {developer_id}, 1}},
      store::put_member{{"owner", "org", "owner@example.com", {owner_builtin_id}, 1}},
      store::put_member{{"dev", "org", "dev@example.com", {developer_id, policy_id}, 2}},
      store::put_policy{{policy_id, "org", policy_id, policy_id, "", statements, 1, 1}},
  };
  changes.insert(changes.end(), more.begin(), more.end());
  BOOST_REQUIRE(!store->commit(changes));
}

/// A service opened on `db`, with the lines it logs.
struct logged_service {
  std::vector<std::string> log;
  std::unique_ptr<iam::service> iam;

  logged_service(const std::filesystem::path& db, const iam::server_key& key) {
    iam::hooks hooks;
    hooks.log = [this](std::string_view line) { log.emplace_back(line); };
    iam = expect(iam::service::open(sqlite_at(db), key, builtins(), {}, hooks));
  }

  /// How many logged lines name statement `id`.
  [[nodiscard]] std::size_t lines_naming(const std::string& id) const {
    return static_cast<std::size_t>(std::count_if(log.begin(), log.end(), [&](const auto& line) {
      return line.find("\"" + id + "\"") != std::string::npos;
    }));
  }
};

/// Statements a hand edit left behind, beside two fine ones: allows and denies too deep, too
/// long, or naming an unknown action.
std::string hand_written_statements(const std::string& deep, const std::string& long_pattern) {
  return R"([{"id":"deep-allow","resourceType":"project","effect":"allow",)"
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
}

/// A service token stored with the same kind of statements: a fine allow and a bad deny.
store::token_record legacy_token(const iam::server_key& key, const std::string& secret,
                                 const std::string& long_pattern) {
  store::token_record token;
  token.id = "6b1f1c2e-5d0a-4c9e-8f3b-2a7d9e4c1b00";
  token.organization_id = "org";
  token.name = "legacy";
  token.type = token_type::service;
  token.creator_id = "owner";
  token.secret_hash = iam::secret_hasher(key).hash(secret);
  token.secret_prefix = secret.substr(0, iam::secret_prefix_length);
  token.permissions_json =
      R"([{"id":"flags","resourceType":"flag","effect":"allow","actions":["*"],)"
      R"("resources":["project/*:env/*:flag/*"]},)"
      R"({"id":"bad-deny","resourceType":"flag","effect":"deny","actions":["DeleteFlag"],)"
      R"("resources":[")" +
      long_pattern + R"("]}])";
  token.created_at = token.updated_at = 1;
  return token;
}

/// What member "dev" of `hand_written_statements` may do: bad allows grant nothing, bad denies
/// deny everywhere, and everything else stays.
void expect_dev_fails_closed(const iam::service& iam, const std::string& deep) {
  const auto dev = expect(iam.authenticate_member("dev", "org"));
  const auto decide = [&](const iam::caller& who, const char* action, const std::string& resource) {
    return iam.decide_only(who, action, resource);
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
  const auto named = iam.decide(dev, "ToggleFlag", flag);
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
  const auto plain = expect(iam.authenticate_member("plain", "org"));
  BOOST_TEST(decide(plain, "ToggleFlag", flag) == decision::allow);
  const auto owner = expect(iam.authenticate_member("owner", "org"));
  BOOST_TEST(decide(owner, "UpdateFlagName", flag) == decision::allow);
}

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
  const std::string statements = hand_written_statements(deep, long_pattern);
  BOOST_REQUIRE(!policy::load_policy(statements, policy::stored_policy).ok());
  const auto secret = iam::generate_token_secret();
  BOOST_REQUIRE(secret.has_value());
  write_store(db, "p-bad", statements,
              {store::put_member{{"plain", "org", "plain@example.com", {developer_id}, 3}},
               store::put_token{legacy_token(key, *secret, long_pattern)}});

  logged_service service(db, key);
  expect_dev_fails_closed(*service.iam, deep);

  // The stored token: its bad deny denies DeleteFlag everywhere; the rest of it stays.
  const auto legacy = expect(service.iam->authenticate_token(*secret));
  BOOST_TEST(service.iam->decide_only(legacy, "ToggleFlag", flag) == decision::allow);
  BOOST_TEST(service.iam->decide_only(legacy, "DeleteFlag", flag) == decision::explicit_deny);
  BOOST_TEST(service.iam->decide_only(legacy, "DeleteFlag", "project/q:env/r:flag/s") ==
             decision::explicit_deny);

  // Counted and logged, one line each, naming the statement.
  const std::vector<std::string> failed = {"deep-allow",   "unknown-allow", "long-deny",
                                           "unknown-deny", "deep-deny",     "bad-deny"};
  BOOST_TEST(service.iam->statements_failed_closed() == failed.size());
  BOOST_TEST(service.log.size() == failed.size());
  for (const auto& id : failed) BOOST_TEST(service.lines_naming(id) == 1U, id);
  for (const auto& line : service.log) {
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
  write_store(db, "p-shape", statements);
  logged_service service(db, key);
  const auto dev = expect(service.iam->authenticate_member("dev", "org"));
  BOOST_TEST(service.iam->decide_only(dev, "ToggleFlag", flag) != decision::allow);
  BOOST_TEST(service.iam->decide_only(dev, "DeleteFlag", flag) != decision::allow);
  BOOST_TEST(service.iam->statements_failed_closed() >= 2U);
  for (const std::string id : {"string-actions", "string-resources"}) {
    BOOST_TEST(service.lines_naming(id) > 0U, id);
  }
}

BOOST_AUTO_TEST_SUITE_END()
