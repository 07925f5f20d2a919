// The HTTP request handler called directly: infrastructure routes and metrics, routing, every
// kind of bad credential, and decisions single and batched. The IAM routes are in
// http_iam_routes_test.cpp.
#include <gatehouse/server/http_service.hpp>

#include <gatehouse/iam/builtins.hpp>
#include <gatehouse/iam/secrets.hpp>

#include <rapidjson/document.h>

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <regex>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "service_fixture.hpp"

namespace {

using namespace gatehouse;
using namespace gatehouse::testing;
namespace data = boost::unit_test::data;
using namespace std::chrono_literals;

std::string b64(std::string_view text) {
  return iam::base64url(reinterpret_cast<const unsigned char*>(text.data()), text.size());
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(http_service_tests, service_fixture)

// ---- Infrastructure routes -----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(healthz_answers_ok_without_credentials) {
  auto a = expect(200, "", "GET", "/healthz", "");
  BOOST_TEST(a.data().IsString());
  BOOST_TEST(std::string(a.data().GetString()) == "ok");
  expect(405, "MethodNotAllowed", "POST", "/healthz", "");
}

BOOST_AUTO_TEST_CASE(metrics_count_decisions_tokens_and_responses) {
  decide(owner, "ToggleFlag", flag);
  const std::string dev = bearer(add_member("dev@example.com"));
  decide(dev, "CanManageIAM", "iam/*");
  create_token(owner, "t1", "Personal");
  call("GET", "/nowhere", "");

  auto a = call("GET", "/metrics", "");
  BOOST_TEST(a.raw.status == 200U);
  BOOST_TEST(a.raw.content_type == "text/plain; version=0.0.4");
  const std::string& text = a.raw.body;
  for (const char* line : {
           "# TYPE gatehouse_decisions_total counter\n",
           "gatehouse_decisions_total{outcome=\"allow\"} 1\n",
           "gatehouse_decisions_total{outcome=\"explicit_deny\"} 0\n",
           "gatehouse_decisions_total{outcome=\"implicit_deny\"} 1\n",
           "# TYPE gatehouse_decision_latency_seconds histogram\n",
           "gatehouse_decision_latency_seconds_bucket{le=\"0.000001\"} ",
           "gatehouse_decision_latency_seconds_bucket{le=\"0.000025\"} ",
           "gatehouse_decision_latency_seconds_bucket{le=\"0.01\"} ",
           "gatehouse_decision_latency_seconds_bucket{le=\"+Inf\"} 2\n",
           "gatehouse_decision_latency_seconds_sum ",
           "gatehouse_decision_latency_seconds_count 2\n",
           "gatehouse_access_tokens{state=\"active\"} 1\n",
           "gatehouse_access_tokens{state=\"inactive\"} 0\n",
           "gatehouse_access_tokens{state=\"revoked\"} 0\n",
           "gatehouse_http_responses_total{status=\"201\"} 2\n",
           "gatehouse_http_responses_total{status=\"404\"} 1\n",
       }) {
    BOOST_TEST(text.find(line) != std::string::npos, "missing: " << line << "in\n" << text);
  }
  // Statuses never answered are not listed.
  BOOST_TEST(text.find("status=\"500\"") == std::string::npos);
  expect(405, "MethodNotAllowed", "DELETE", "/metrics", "");
}

BOOST_AUTO_TEST_CASE(latency_buckets_are_cumulative) {
  server::metrics m;
  m.count_decision(engine::decision::allow, 500ns);         // <= 1 us
  m.count_decision(engine::decision::allow, 1000ns);        // <= 1 us: bounds are inclusive
  m.count_decision(engine::decision::allow, 30'000ns);      // <= 50 us
  m.count_decision(engine::decision::allow, 20'000'000ns);  // only +Inf
  const std::string text = m.render(*iam);
  for (const char* line : {
           "gatehouse_decision_latency_seconds_bucket{le=\"0.000001\"} 2\n",
           "gatehouse_decision_latency_seconds_bucket{le=\"0.000025\"} 2\n",
           "gatehouse_decision_latency_seconds_bucket{le=\"0.00005\"} 3\n",
           "gatehouse_decision_latency_seconds_bucket{le=\"0.01\"} 3\n",
           "gatehouse_decision_latency_seconds_bucket{le=\"+Inf\"} 4\n",
           "gatehouse_decision_latency_seconds_sum 0.020031500\n",
           "gatehouse_decision_latency_seconds_count 4\n",
       }) {
    BOOST_TEST(text.find(line) != std::string::npos, "missing: " << line << "in\n" << text);
  }
}

// ---- Routing -------------------------------------------------------------------------------

struct routing_case {
  const char* method;
  const char* target;
  unsigned status;
  const char* code;
};
std::ostream& operator<<(std::ostream& os, const routing_case& c) {
  return os << c.method << ' ' << c.target;
}

const routing_case routing_cases[] = {
    {"GET", "/nothing", 404, "ResourceNotFound"},
    {"GET", "/api/v1", 404, "ResourceNotFound"},
    {"GET", "/api/v1/", 404, "ResourceNotFound"},
    {"GET", "/api/v2/policies", 404, "ResourceNotFound"},
    {"GET", "/api/v1/nothing", 404, "ResourceNotFound"},
    {"GET", "/api/v1/policies/", 404, "ResourceNotFound"},
    {"GET", "/api/v1/policies/x/y", 404, "ResourceNotFound"},
    {"GET", "/api/v1/policies/%zz", 404, "ResourceNotFound"},
    {"GET", "api/v1/policies", 404, "ResourceNotFound"},
    {"PUT", "/api/v1/groups/g/add-member/", 404, "ResourceNotFound"},
    {"GET", "/api/v1/decisions", 405, "MethodNotAllowed"},
    {"DELETE", "/api/v1/access-tokens", 405, "MethodNotAllowed"},
    {"POST", "/api/v1/members/remove-from-org/m", 405, "MethodNotAllowed"},
    {"GET", "/api/v1/members/add", 405, "MethodNotAllowed"},
    {"GET", "/api/v1/groups/g", 405, "MethodNotAllowed"},
    {"get", "/api/v1/policies", 405, "MethodNotAllowed"},
};

// Routing comes before credentials: these carry none and learn only 404 or 405.
BOOST_DATA_TEST_CASE_F(service_fixture, unknown_paths_and_methods, data::make(routing_cases), c) {
  expect(c.status, c.code, c.method, c.target, "");
}

BOOST_AUTO_TEST_CASE(path_segments_and_query_are_percent_decoded) {
  create_token(owner, "my token", "Personal");
  auto used = expect(200, "", "GET", "/api/v1/access-tokens/is-name-used?name=my%20token", owner);
  BOOST_TEST(used.data().IsTrue());
  used = expect(200, "", "GET", "/api/v1/access-tokens/is-name-used?name=my+token", owner);
  BOOST_TEST(used.data().IsTrue());
  used = expect(200, "", "GET", "/api/v1/access-tokens/is-name-used?name=MY%20TOKEN", owner);
  BOOST_TEST(used.data().IsTrue());  // names are unique case-insensitively
  used = expect(200, "", "GET", "/api/v1/access-tokens/is-name-used?name=other", owner);
  BOOST_TEST(used.data().IsFalse());
  // The built-in Owner policy id, with its hyphens escaped.
  auto p = expect(200, "", "GET", "/api/v1/policies/98881f6a%2D5c6c-4277-bcf7-fda94c538785", owner);
  BOOST_TEST(str(p.data(), "key") == "owner");
  expect(400, "query_is_invalid", "GET", "/api/v1/access-tokens?name=%g0", owner);
  expect(400, "name_is_invalid", "GET", "/api/v1/access-tokens?name=a&name=b", owner);
  expect(400, "name_is_required", "GET", "/api/v1/access-tokens/is-name-used", owner);
  expect(400, "name_is_required", "GET", "/api/v1/access-tokens/is-name-used?name=", owner);
}

// ---- Credentials -----------------------------------------------------------------------------

enum class bad_credential {
  missing,
  blank,
  basic_scheme,
  bearer_without_credential,
  not_a_jwt,
  tampered_jwt,
  expired_jwt,
  unsigned_alg_none_jwt,
  jwt_signed_with_another_secret,
  jwt_of_unknown_member,
  jwt_of_another_organization,
  jwt_without_organization,
  unknown_token,
  bearer_unknown_token,
  malformed_token,
};
std::ostream& operator<<(std::ostream& os, bad_credential c) { return os << static_cast<int>(c); }

const bad_credential bad_credentials[] = {
    bad_credential::missing,
    bad_credential::blank,
    bad_credential::basic_scheme,
    bad_credential::bearer_without_credential,
    bad_credential::not_a_jwt,
    bad_credential::tampered_jwt,
    bad_credential::expired_jwt,
    bad_credential::unsigned_alg_none_jwt,
    bad_credential::jwt_signed_with_another_secret,
    bad_credential::jwt_of_unknown_member,
    bad_credential::jwt_of_another_organization,
    bad_credential::jwt_without_organization,
    bad_credential::unknown_token,
    bad_credential::bearer_unknown_token,
    bad_credential::malformed_token,
};

std::string credential(const service_fixture& f, bad_credential c) {
  const auto now = std::chrono::system_clock::now();
  switch (c) {
    case bad_credential::missing:
      return "";
    case bad_credential::blank:
      return "   ";
    case bad_credential::basic_scheme:
      return "Basic b3duZXI6cGFzc3dvcmQ=";
    case bad_credential::bearer_without_credential:
      return "Bearer ";
    case bad_credential::not_a_jwt:
      return "Bearer not.a.jwt";
    case bad_credential::tampered_jwt: {
      std::string jwt = jwt_for(f.owner_id, f.organization);
      const auto signature = jwt.rfind('.') + 1;
      jwt[signature] = jwt[signature] == 'A' ? 'B' : 'A';
      return "Bearer " + jwt;
    }
    case bad_credential::expired_jwt:
      return "Bearer " + jwt_for(f.owner_id, f.organization, now - 2h);
    case bad_credential::unsigned_alg_none_jwt: {
      const auto exp =
          std::chrono::duration_cast<std::chrono::seconds>((now + 1h).time_since_epoch()).count();
      return "Bearer " + b64(R"({"alg":"none","typ":"JWT"})") + "." +
             b64(R"({"sub":")" + f.owner_id + R"(","org":")" + f.organization + R"(","exp":)" +
                 std::to_string(exp) + "}") +
             ".";
    }
    case bad_credential::jwt_signed_with_another_secret: {
      auto jwt =
          iam::mint_hs256("another-secret-of-at-least-32-bytes!!", f.owner_id, f.organization, 1h);
      BOOST_REQUIRE(jwt.has_value());
      return "Bearer " + *jwt;
    }
    case bad_credential::jwt_of_unknown_member:
      return "Bearer " + jwt_for(not_a_token_id, f.organization);
    case bad_credential::jwt_of_another_organization:
      return "Bearer " + jwt_for(f.owner_id, not_a_token_id);
    case bad_credential::jwt_without_organization:
      return "Bearer " + jwt_for(f.owner_id, "");
    case bad_credential::unknown_token:
      return "api-" + std::string(43, 'A');
    case bad_credential::bearer_unknown_token:
      return "Bearer api-" + std::string(43, 'A');
    case bad_credential::malformed_token:
      return "api-short";
  }
  return "";
}

BOOST_DATA_TEST_CASE_F(service_fixture, bad_credentials_get_401, data::make(bad_credentials), c) {
  auto a = expect(401, "Unauthorized", "POST", "/api/v1/decisions", credential(*this, c),
                  R"({"action":"ToggleFlag","resource":"project/x"})");
  BOOST_TEST(a.data().IsNull());
  BOOST_TEST(a.raw.subject == "-");
  expect(401, "Unauthorized", "GET", "/api/v1/access-tokens", credential(*this, c));
}

BOOST_AUTO_TEST_CASE(organization_header_applies_only_without_org_claim) {
  const std::string without_org = "Bearer " + jwt_for(owner_id, "");
  auto a = call("GET", "/api/v1/user/policies", without_org, {}, organization);
  BOOST_TEST(a.raw.status == 200U);
  BOOST_TEST(a.raw.subject == "member:" + owner_id);
  // The signed claim wins over the header.
  a = call("GET", "/api/v1/user/policies", owner, {}, not_a_token_id);
  BOOST_TEST(a.raw.status == 200U);
  a = call("GET", "/api/v1/user/policies", "Bearer " + jwt_for(owner_id, not_a_token_id), {},
           organization);
  BOOST_TEST(a.raw.status == 401U);
}

BOOST_AUTO_TEST_CASE(scheme_is_case_insensitive_and_blanks_are_trimmed) {
  const std::string jwt = jwt_for(owner_id, organization);
  for (const std::string& header : {"bearer " + jwt, "BEARER  " + jwt, "  Bearer\t" + jwt + " "}) {
    BOOST_TEST(call("GET", "/api/v1/user/policies", header).raw.status == 200U, header);
  }
}

// ---- Decisions --------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(owner_decision_names_policy_and_subject) {
  auto a = decide(owner, "ToggleFlag", flag);
  const auto& d = a.data();
  BOOST_TEST(d["allowed"].GetBool());
  BOOST_TEST(str(d, "decision") == "allow");
  BOOST_REQUIRE(d["statements"].IsArray() && d["statements"].Size() == 1U);
  BOOST_TEST(str(d["statements"][0], "policyId") == std::string(iam::owner_policy_id));
  BOOST_TEST(d["statements"][0]["statementId"].IsString());
  BOOST_TEST(str(d["subject"], "kind") == "member");
  BOOST_TEST(str(d["subject"], "id") == owner_id);
  BOOST_TEST(a.raw.subject == "member:" + owner_id);
}

BOOST_AUTO_TEST_CASE(denials_are_200_with_allowed_false) {
  const std::string policy = create_policy("no-prod-toggles", deny_prod_flags);
  const std::string dev_id = add_member("dev@example.com");
  const std::string dev = bearer(dev_id);

  auto implicit = decide(dev, "CanManageIAM", "iam/*");
  BOOST_TEST(!implicit.data()["allowed"].GetBool());
  BOOST_TEST(str(implicit.data(), "decision") == "implicit_deny");
  BOOST_TEST(implicit.data()["statements"].Empty());

  expect(200, "", "PUT", "/api/v1/members/" + dev_id + "/add-policy/" + policy, owner);
  auto explicit_deny = decide(dev, "ToggleFlag", flag);
  BOOST_TEST(!explicit_deny.data()["allowed"].GetBool());
  BOOST_TEST(str(explicit_deny.data(), "decision") == "explicit_deny");
  BOOST_REQUIRE(explicit_deny.data()["statements"].Size() == 1U);
  BOOST_TEST(str(explicit_deny.data()["statements"][0], "policyId") == policy);
  BOOST_TEST(str(explicit_deny.data()["statements"][0], "statementId") == "no-prod");
  BOOST_TEST(decide(dev, "ToggleFlag", "project/web:env/dev:flag/x").data()["allowed"].GetBool());
}

BOOST_AUTO_TEST_CASE(batch_answers_in_order) {
  const std::string dev = bearer(add_member("dev@example.com"));
  auto a = expect(200, "", "POST", "/api/v1/decisions", dev,
                  R"({"checks":[{"action":"CanManageIAM","resource":"iam/*"},)"
                  R"({"action":"ToggleFlag","resource":")" +
                      flag +
                      R"("},)"
                      R"({"action":"DeleteProject","resource":"project/web"},)"
                      R"({"action":"CanAccessProject","resource":"project/web"}]})");
  const auto& results = a.data()["results"];
  BOOST_REQUIRE(results.IsArray() && results.Size() == 4U);
  const bool expected[] = {false, true, false, true};
  for (rapidjson::SizeType i = 0; i < 4; ++i) {
    BOOST_TEST(results[i]["allowed"].GetBool() == expected[i], "check " << i);
    BOOST_TEST(str(results[i]["subject"], "kind") == "member");
  }
  auto empty = expect(200, "", "POST", "/api/v1/decisions", dev, R"({"checks":[]})");
  BOOST_TEST(empty.data()["results"].Empty());
}

// The session passes one response for every request of a connection: each answer starts from
// a new response's values, and a decision is written into the room the last one left.
BOOST_AUTO_TEST_CASE(one_response_serves_a_whole_connection) {
  const std::string body = R"({"action":"ToggleFlag","resource":")" + flag + R"("})";
  const server::http_request decision{
      .method = "POST", .target = "/api/v1/decisions", .authorization = owner, .body = body};
  const server::http_response fresh = service->handle_request(decision);
  BOOST_REQUIRE(fresh.status == 200U);

  server::http_response reused;
  service->handle_request(decision, reused);
  BOOST_TEST(reused.body == fresh.body);
  BOOST_TEST(reused.subject == "member:" + owner_id);
  const char* room = reused.body.data();
  service->handle_request(decision, reused);
  BOOST_TEST(reused.body == fresh.body);
  BOOST_TEST((reused.body.data() == room), "the second answer was not written in place");

  // A policy answer with its ETag, then a refused decision: nothing of the last answer stays.
  const std::string policy = create_policy("readers", deny_prod_flags);
  service->handle_request(
      {.method = "GET", .target = "/api/v1/policies/" + policy, .authorization = owner}, reused);
  BOOST_TEST(!header(reused, "ETag").empty());
  service->handle_request(
      {.method = "POST", .target = "/api/v1/decisions", .authorization = "api-wrong", .body = body},
      reused);
  BOOST_TEST(reused.status == 401U);
  BOOST_TEST(reused.headers.empty());
  BOOST_TEST(reused.subject == "-");
  BOOST_TEST(reused.body == R"({"success":false,"errors":["Unauthorized"],"data":null})");
  // The console's answer changes the content type and cache policy; the next decision resets them.
  service->handle_request({.method = "GET", .target = "/console/"}, reused);
  BOOST_TEST(reused.cache_control == "no-cache");
  service->handle_request(decision, reused);
  BOOST_TEST(reused.status == 200U);
  BOOST_TEST(reused.body == fresh.body);
  BOOST_TEST(reused.content_type == "application/json");
  BOOST_TEST(reused.cache_control == "no-store");
  BOOST_TEST(reused.headers.empty());
}

const body_case bad_decision_bodies[] = {
    {R"({"resource":"project/x"})", "action_is_required"},
    {R"({"action":"","resource":"project/x"})", "action_is_required"},
    {R"({"action":null,"resource":"project/x"})", "action_is_required"},
    {R"({"action":"ToggleFlag"})", "resource_is_required"},
    {R"({"action":7,"resource":"project/x"})", "action_is_invalid"},
    {R"({"action":"ToggleFlag","resource":["project/x"]})", "resource_is_invalid"},
    {R"([{"action":"ToggleFlag","resource":"project/x"}])", "body_is_invalid"},
    {R"("ToggleFlag")", "body_is_invalid"},
    {R"({"checks":{}})", "checks_is_invalid"},
    {R"({"checks":[1]})", "checks_is_invalid"},
    {R"({"checks":[{"action":"A","resource":"r"},{"resource":"r"}]})", "action_is_required"},
    {R"({"checks":[{"action":"A"}]})", "resource_is_required"},
    {R"({"checks":[],"action":"A","resource":"r"})", "body_is_invalid"},
    // test_max_batch + 1 checks.
    {R"({"checks":[{"action":"A","resource":"r"},{"action":"A","resource":"r"},)"
     R"({"action":"A","resource":"r"},{"action":"A","resource":"r"},)"
     R"({"action":"A","resource":"r"}]})",
     "checks_is_invalid"},
    {"", "InvalidJson"},
    {"{", "InvalidJson"},
    {R"({"action":"A","resource":"r"} x)", "InvalidJson"},
    {R"({"action":"A","resource":"r"}{})", "InvalidJson"},
    {R"({"action":"A","action":"B","resource":"r"})", "InvalidJson"},
    {R"({"action":"\udc00","resource":"r"})", "InvalidJson"},
    {"{\"action\":\"\xff\",\"resource\":\"r\"}", "InvalidJson"},
    {"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
     "InvalidJson"},
};

BOOST_DATA_TEST_CASE_F(service_fixture, malformed_decision_requests_get_400,
                       data::make(bad_decision_bodies), c) {
  expect(400, c.code, "POST", "/api/v1/decisions", owner, c.body);
}

BOOST_AUTO_TEST_CASE(invalid_json_reports_offset) {
  auto a = expect(400, "InvalidJson", "POST", "/api/v1/decisions", owner, R"({"action": x})");
  BOOST_TEST(a.data()["offset"].GetUint64() == 11U);
  BOOST_TEST(a.data()["message"].IsString());
  // A NUL byte ends RapidJSON's input; it must not hide what follows.
  const std::string with_nul("{\"action\":\"A\",\"resource\":\"r\"}\0garbage", 37);
  a = expect(400, "InvalidJson", "POST", "/api/v1/decisions", owner, with_nul);
  BOOST_TEST(a.data()["offset"].GetUint64() == 29U);
}

BOOST_AUTO_TEST_CASE(deep_nesting_is_refused_without_exhausting_the_stack) {
  const std::string deep = std::string(30'000, '[') + std::string(30'000, ']');
  expect(400, "InvalidJson", "POST", "/api/v1/decisions", owner, deep);
  expect(400, "InvalidJson", "POST", "/api/v1/access-tokens", owner,
         R"({"name":"n","type":"Service","permissions":)" + deep + "}");
}

BOOST_AUTO_TEST_CASE(oversized_body_gets_413) {
  const std::string body(test_max_body + 1, ' ');
  auto a = expect(413, "PayloadTooLarge", "POST", "/api/v1/decisions", owner, body);
  BOOST_TEST(a.data().IsNull());
  // At the limit the body is read (and here found empty of JSON).
  expect(400, "InvalidJson", "POST", "/api/v1/decisions", owner, std::string(test_max_body, ' '));
}

BOOST_AUTO_TEST_SUITE_END()
