// The policy author's routes: POST policies/validate answers the findings `gatehouse check
// --stored` reports (text that is not JSON included, as a finding), and POST policies/simulate
// decides as the reference evaluator does, naming the determining statements by their place.
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

BOOST_AUTO_TEST_SUITE_END()
