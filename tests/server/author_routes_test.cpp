// The policy author's routes: POST policies/validate answers the findings `gatehouse check
// --stored` reports (text that is not JSON included, as a finding), POST policies/simulate
// decides as the reference evaluator does, naming the determining statements by their place,
// and POST policies/{id}/preview names, per action, a request an edit adds or removes, with the
// policy's holders; writes and previews made against an old version answer 409.
#include "brute_force.hpp"
#include "random_policy.hpp"
#include "service_fixture.hpp"

#include <gatehouse/engine/reference.hpp>
#include <gatehouse/policy/document.hpp>
#include <gatehouse/policy/json.hpp>

#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace gatehouse;
using namespace gatehouse::testing;

namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// Each finding of `findings` as its compact JSON text.
std::vector<std::string> texts_of(const rapidjson::Value& findings) {
  std::vector<std::string> out;
  for (const auto& f : findings.GetArray()) {
    rapidjson::StringBuffer buffer;
    policy::json_writer w(buffer);
    f.Accept(w);
    out.emplace_back(buffer.GetString(), buffer.GetSize());
  }
  return out;
}

/// The finding with `code` among `findings`, or nullptr.
const rapidjson::Value* finding_with(const rapidjson::Value& findings, std::string_view code) {
  for (const auto& f : findings.GetArray()) {
    if (str(f, "code") == code) return &f;
  }
  return nullptr;
}

const std::string typo_at_line_4 = R"([
  {"id": "s1", "resourceType": "flag", "effect": "allow",
   "actions": ["ToggleFlag",
               "TogleFlag"],
   "resources": ["project/*:env/*:flag/*"]}
])";

}  // namespace

BOOST_FIXTURE_TEST_SUITE(author_routes_tests, service_fixture)

BOOST_AUTO_TEST_CASE(validate_reports_what_check_stored_reports_for_every_shipped_policy) {
  std::size_t files = 0;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(GATEHOUSE_SOURCE_DIR "/policies")) {
    if (entry.path().extension() != ".json") continue;
    ++files;
    const auto expected = policy::load_policy_file(entry.path().string(), policy::stored_policy);
    auto a = expect(200, "", "POST", "/api/v1/policies/validate", owner, read_file(entry.path()));
    const auto got = texts_of(a.data()["findings"]);
    std::vector<std::string> want;
    for (const auto& f : expected.findings) want.push_back(policy::to_json(f));
    BOOST_TEST(got == want, entry.path());
  }
  BOOST_TEST(files >= 3U);
}

BOOST_AUTO_TEST_CASE(validate_points_at_line_and_column_and_takes_bad_json_as_a_finding) {
  auto a = expect(200, "", "POST", "/api/v1/policies/validate", owner, typo_at_line_4);
  const auto* typo = finding_with(a.data()["findings"], "unknown-action");
  BOOST_TEST_REQUIRE(typo != nullptr, a.raw.body);
  BOOST_TEST(str(*typo, "severity") == "error");
  BOOST_TEST((*typo)["line"].GetUint() == 4U);
  BOOST_TEST((*typo)["column"].GetUint() == 16U);
  BOOST_TEST(str(*typo, "pointer") == "/0/actions/1");

  a = expect(200, "", "POST", "/api/v1/policies/validate", owner, R"([{"id": "s1",)");
  BOOST_TEST(finding_with(a.data()["findings"], "malformed-json") != nullptr, a.raw.body);

  // What storing refuses, validating reports as an error: a 17-segment pattern.
  std::string deep = "project/p";
  for (int i = 1; i <= 16; ++i) deep += ":env/e" + std::to_string(i);
  a = expect(200, "", "POST", "/api/v1/policies/validate", owner,
             R"([{"id":"d","resourceType":"project","effect":"deny","actions":["*"],)"
             R"("resources":[")" +
                 deep + R"("]}])");
  const auto* too_deep = finding_with(a.data()["findings"], "rn-too-deep");
  BOOST_TEST_REQUIRE(too_deep != nullptr, a.raw.body);
  BOOST_TEST(str(*too_deep, "severity") == "error");

  a = expect(200, "", "POST", "/api/v1/policies/validate", owner, deny_prod_flags);
  BOOST_TEST(a.data()["findings"].Empty(), a.raw.body);
}

BOOST_AUTO_TEST_CASE(simulate_decides_as_the_reference_evaluator_does) {
  std::size_t simulated = 0;
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    random_policy gen(seed);
    const auto sourced = gen.statements(12);
    if (sourced.empty()) continue;  // a stored policy has at least one statement
    ++simulated;
    std::vector<policy::statement> statements;
    for (const auto& s : sourced) statements.push_back(s.statement);
    std::vector<std::pair<std::string, std::string>> checks;
    std::string body = R"({"statements":)" + policy::to_json(statements) + R"(,"checks":[)";
    for (std::size_t i = 0; i < test_max_batch; ++i) {
      // A request names a resource, as in POST decisions: the empty name is asked again.
      std::string resource;
      while (resource.empty()) resource = gen.request_resource();
      checks.emplace_back(gen.request_action(), resource);
      if (i > 0) body += ',';
      body += policy::request_json(checks.back().first, checks.back().second);
    }
    body += "]}";
    auto a = expect(200, "", "POST", "/api/v1/policies/simulate", owner, body);
    const auto& results = a.data()["results"];
    BOOST_TEST_REQUIRE(results.Size() == checks.size());
    for (rapidjson::SizeType i = 0; i < results.Size(); ++i) {
      const auto& [action, resource] = checks[i];
      const auto want = engine::reference::evaluate(sourced, action, resource);
      BOOST_TEST(str(results[i], "decision") == engine::to_string(want.decision),
                 "seed " << seed << ": " << action << " on '" << resource << "'");
      std::vector<std::uint32_t> got;
      for (const auto& s : results[i]["statements"].GetArray()) {
        got.push_back(s["index"].GetUint());
        BOOST_TEST(str(s, "statementId") == statements[got.back()].id);
      }
      BOOST_TEST(got == want.determining,
                 "seed " << seed << ": " << action << " on '" << resource << "'");
    }
  }
  BOOST_TEST(simulated >= 150U);
}

BOOST_AUTO_TEST_CASE(simulate_reads_like_a_batch_and_a_stored_policy) {
  const std::string check = R"({"action":"ToggleFlag","resource":"project/web:env/prod:flag/x"})";
  expect(400, "statements_is_required", "POST", "/api/v1/policies/simulate", owner,
         R"({"checks":[)" + check + "]}");
  expect(400, "checks_is_required", "POST", "/api/v1/policies/simulate", owner,
         R"({"statements":)" + deny_prod_flags + "}");
  expect(400, "statements_is_invalid", "POST", "/api/v1/policies/simulate", owner,
         R"({"statements":)" + typo_at_line_4 + R"(,"checks":[)" + check + "]}");
  std::string too_many = R"({"statements":)" + deny_prod_flags + R"(,"checks":[)";
  for (std::size_t i = 0; i <= test_max_batch; ++i) too_many += (i > 0 ? "," : "") + check;
  expect(400, "checks_is_invalid", "POST", "/api/v1/policies/simulate", owner, too_many + "]}");

  auto a = expect(200, "", "POST", "/api/v1/policies/simulate", owner,
                  R"({"statements":)" + deny_prod_flags + R"(,"checks":[)" + check + "]}");
  const auto& only = a.data()["results"][0];
  BOOST_TEST(str(only, "decision") == "explicit_deny");
  BOOST_TEST(only["statements"][0]["index"].GetUint() == 0U);
  BOOST_TEST(str(only["statements"][0], "statementId") == "no-prod");
  BOOST_TEST(!only.HasMember("subject"));
}

BOOST_AUTO_TEST_CASE(the_author_routes_are_for_members) {
  const auto token = create_token(owner, "script", "Personal");
  const std::string secret = str(token.data(), "token");
  expect(403, "Forbidden", "POST", "/api/v1/policies/validate", secret, deny_prod_flags);
  const std::string nothing_to_decide = R"({"statements":)" + deny_prod_flags + R"(,"checks":[]})";
  expect(403, "Forbidden", "POST", "/api/v1/policies/simulate", secret, nothing_to_decide);
  expect(401, "Unauthorized", "POST", "/api/v1/policies/validate", "", deny_prod_flags);
  // Any member may use them: a Developer validates and simulates.
  const std::string dev = bearer(add_member("dev@example.com"));
  expect(200, "", "POST", "/api/v1/policies/validate", dev, deny_prod_flags);
  expect(200, "", "POST", "/api/v1/policies/simulate", dev, nothing_to_decide);
}

// ---- Preview and versions ----------------------------------------------------------------------

namespace {

/// The statements of `sourced`.
std::vector<policy::statement> plain(const std::vector<engine::sourced_statement>& sourced) {
  std::vector<policy::statement> out;
  for (const auto& s : sourced) out.push_back(s.statement);
  return out;
}

/// The requests over the random generator's alphabet, as the engine's containment test uses them,
/// for the catalogue actions the generator writes.
request_space small_space() {
  request_space space;
  space.actions = {"ToggleFlag", "CreateFlag"};
  space.paths = {"a", ""};
  for (const char* type : {"a", "c"}) {
    for (const auto& key : strings_over("abc", 1, 2))
      space.paths.push_back(std::string(type) + "/" + key);
  }
  space.tags = {"a", "b", "c", "ab"};
  space.max_depth = 2;
  return space;
}

/// Checks that `found` (a preview's `added` or `removed`) holds real requests, each allowed by
/// `gaining` and not by `losing`, one per action at most, and that every action of `space` it
/// leaves out has no such request in `space`.
void check_witnesses(const rapidjson::Value& found,
                     const std::vector<engine::sourced_statement>& losing,
                     const std::vector<engine::sourced_statement>& gaining,
                     const request_space& space, std::uint64_t seed, std::size_t& examples) {
  std::vector<std::string> actions;
  for (const auto& r : found.GetArray()) {
    const std::string action = str(r, "action");
    const std::string resource = str(r, "resource");
    BOOST_TEST_CONTEXT("seed " << seed << ": " << action << " on '" << resource << "'") {
      BOOST_TEST(policy::is_catalogue_action(action));
      BOOST_TEST((engine::reference::evaluate(gaining, action, resource).decision ==
                  engine::decision::allow));
      BOOST_TEST((engine::reference::evaluate(losing, action, resource).decision !=
                  engine::decision::allow));
    }
    BOOST_TEST((std::find(actions.begin(), actions.end(), action) == actions.end()));
    actions.push_back(action);
    ++examples;
  }
  for (const auto& action : space.actions) {
    if (std::find(actions.begin(), actions.end(), action) != actions.end()) continue;
    auto one = space;
    one.actions = {action};
    // The message is built whether or not the check fails: it must not read an empty optional.
    const auto escape = find_escape(losing, gaining, one);
    BOOST_TEST(!escape.has_value(), "seed " << seed << ": no example for " << action
                                            << ", but brute force finds "
                                            << (escape ? escape->resource : std::string()));
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(preview_examples_are_real_and_complete_per_action) {
  const std::string id = create_policy("edited", deny_prod_flags);
  const std::string base = "/api/v1/policies/" + id;
  const auto space = small_space();
  std::size_t previews = 0;
  std::size_t added = 0;
  std::size_t removed = 0;
  for (std::uint64_t seed = 1; seed <= 150; ++seed) {
    random_policy gen(seed * 7919);
    const auto before = gen.statements(5);
    if (before.empty()) continue;
    std::vector<engine::sourced_statement> after;
    for (const auto& s : before) {
      if (gen.chance(0.7)) after.push_back(s);
    }
    if (after.empty() || gen.chance(0.6)) after.push_back({"p", gen.statement(60)});
    expect(200, "", "PUT", base + "/statements", owner, policy::to_json(plain(before)));
    auto a = expect(200, "", "POST", base + "/preview", owner, policy::to_json(plain(after)));
    ++previews;
    const auto& grants = a.data()["grants"];
    check_witnesses(grants["added"], before, after, space, seed, added);
    check_witnesses(grants["removed"], after, before, space, seed, removed);
  }
  BOOST_TEST(previews >= 100U);
  // Both kinds of change are common, or the checks prove little.
  BOOST_TEST(added >= 30U);
  BOOST_TEST(removed >= 30U);
}

BOOST_AUTO_TEST_CASE(preview_names_an_example_per_action_and_counts_the_holders) {
  const std::string toggle_web =
      R"([{"id":"t","resourceType":"flag","effect":"allow","actions":["ToggleFlag","UpdateFlagName"],)"
      R"("resources":["project/web:env/*:flag/*"]}])";
  const std::string policy_id = create_policy("flags", toggle_web);
  const std::string developer(iam::developer_policy_id);
  // Alice holds it directly, Bob through a group, Carol not at all.
  const std::string alice =
      add_member("alice@example.com", R"([")" + policy_id + R"(",")" + developer + R"("])");
  const std::string bob = add_member("bob@example.com", R"([")" + developer + R"("])");
  add_member("carol@example.com", R"([")" + developer + R"("])");
  const std::string group =
      str(expect(201, "", "POST", "/api/v1/groups", owner, R"({"name":"flaggers"})").data(), "id");
  expect(200, "", "PUT", "/api/v1/groups/" + group + "/add-member/" + bob, owner);
  expect(200, "", "PUT", "/api/v1/groups/" + group + "/add-policy/" + policy_id, owner);
  // Personal tokens act with their creator's rights; an inactive one still counts, a service
  // token does not (its statements were fixed when it was made).
  create_token(bearer(alice), "a1", "Personal");
  const auto off = create_token(bearer(alice), "a2", "Personal");
  expect(200, "", "PUT", "/api/v1/access-tokens/" + str(off.data(), "id") + "/toggle",
         bearer(alice));
  create_token(bearer(bob), "b1", "Personal");
  create_token(owner, "o1", "Personal");

  // Widened to every project for ToggleFlag; UpdateFlagName dropped.
  const std::string widened =
      R"([{"id":"t","resourceType":"flag","effect":"allow","actions":["ToggleFlag"],)"
      R"("resources":["project/*:env/*:flag/*"]}])";
  auto a = expect(200, "", "POST", "/api/v1/policies/" + policy_id + "/preview", owner, widened);
  const auto& grants = a.data()["grants"];
  BOOST_TEST_REQUIRE(grants["added"].Size() == 1U, a.raw.body);
  BOOST_TEST(str(grants["added"][0], "action") == "ToggleFlag");
  const std::string example = str(grants["added"][0], "resource");
  BOOST_TEST(!example.starts_with("project/web:"), example);
  BOOST_TEST_REQUIRE(grants["removed"].Size() == 1U, a.raw.body);
  BOOST_TEST(str(grants["removed"][0], "action") == "UpdateFlagName");
  BOOST_TEST(str(grants["removed"][0], "resource").starts_with("project/web:"));
  const auto& holders = a.data()["holders"];
  BOOST_TEST(holders["members"].GetUint() == 2U);
  BOOST_TEST(holders["groups"].GetUint() == 1U);
  BOOST_TEST(holders["personalTokens"].GetUint() == 3U);

  // The same statements change nothing; the preview changed nothing either.
  a = expect(200, "", "POST", "/api/v1/policies/" + policy_id + "/preview", owner, toggle_web);
  BOOST_TEST(a.data()["grants"]["added"].Empty());
  BOOST_TEST(a.data()["grants"]["removed"].Empty());
}

BOOST_AUTO_TEST_CASE(preview_is_refused_as_saving_would_be) {
  const std::string id = create_policy("p", deny_prod_flags);
  const std::string preview = "/api/v1/policies/" + id + "/preview";
  // Needs CanManageIAM, as every policy route.
  expect(403, "Forbidden", "POST", preview, bearer(add_member("dev@example.com")), deny_prod_flags);
  expect(422, "CannotModifySysManagedPolicy", "POST",
         "/api/v1/policies/" + std::string(iam::developer_policy_id) + "/preview", owner,
         deny_prod_flags);
  expect(404, "ResourceNotFound", "POST", "/api/v1/policies/" + not_a_token_id + "/preview", owner,
         deny_prod_flags);
  auto a = expect(400, "statements_is_invalid", "POST", preview, owner, typo_at_line_4);
  BOOST_TEST(a.data()["findings"].Size() >= 1U, a.raw.body);
  expect(400, "statements_is_invalid", "POST", preview, owner, R"({"statements":[]})");
  expect(400, "InvalidJson", "POST", preview, owner, "[");
}

BOOST_AUTO_TEST_CASE(a_write_made_against_an_old_version_is_a_conflict) {
  const std::string id = create_policy("versioned", deny_prod_flags);
  const std::string base = "/api/v1/policies/" + id;
  auto got = expect(200, "", "GET", base, owner);
  const std::uint64_t v1 = got.data()["version"].GetUint64();
  BOOST_TEST(header(got.raw, "ETag") == '"' + std::to_string(v1) + '"');
  const std::string etag1 = header(got.raw, "ETag");

  const std::string allow_toggle =
      R"([{"id":"a","resourceType":"flag","effect":"allow","actions":["ToggleFlag"],)"
      R"("resources":["project/*:env/dev:flag/*"]}])";
  // A preview and a write made against the current version go through.
  auto a = call("POST", base + "/preview", owner, allow_toggle, {}, etag1);
  BOOST_TEST(a.raw.status == 200U, a.raw.body);
  BOOST_TEST(a.data()["version"].GetUint64() == v1);
  a = call("PUT", base + "/statements", owner, allow_toggle, {}, etag1);
  BOOST_TEST_REQUIRE(a.raw.status == 200U, a.raw.body);
  const std::uint64_t v2 = a.data()["version"].GetUint64();
  BOOST_TEST(v2 > v1);
  BOOST_TEST(header(a.raw, "ETag") == '"' + std::to_string(v2) + '"');

  // Someone who edited version 1 cannot undo that change unseen, nor preview against it.
  for (const char* method : {"PUT", "POST"}) {
    const std::string target =
        base + (std::string_view(method) == "PUT" ? "/statements" : "/preview");
    a = call(method, target, owner, deny_prod_flags, {}, etag1);
    BOOST_TEST(a.raw.status == 409U, a.raw.body);
    BOOST_TEST(a.error() == "Conflict");
    BOOST_TEST(a.data()["version"].GetUint64() == v2);
    BOOST_TEST(has_message(a));
  }
  // Weak, malformed and empty tag lists name no version; a list naming the current one, `*` and
  // no header at all accept it.
  const std::string current = std::to_string(v2);
  for (const std::string& stale :
       std::vector<std::string>{"W/\"" + current + '"', current, "\"\"", "\"x\"", ","}) {
    BOOST_TEST(
        call("PUT", base + "/statements", owner, deny_prod_flags, {}, stale).raw.status == 409U,
        stale);
  }
  got = expect(200, "", "GET", base, owner);
  BOOST_TEST(got.data()["statements"][0]["id"].GetString() == std::string("a"));
  BOOST_TEST(got.data()["version"].GetUint64() == v2);
  a = call("PUT", base + "/statements", owner, allow_toggle, {},
           etag1 + ", \"" + std::to_string(v2) + '"');
  BOOST_TEST(a.raw.status == 200U, a.raw.body);
  a = call("PUT", base + "/statements", owner, allow_toggle, {}, "*");
  BOOST_TEST(a.raw.status == 200U, a.raw.body);
  a = expect(200, "", "PUT", base + "/statements", owner, allow_toggle);
  BOOST_TEST(a.data()["version"].GetUint64() > v2);
}

BOOST_AUTO_TEST_SUITE_END()
