// The HTTP request handler over an in-memory store with the organization `acme` and its owner,
// and the helpers that call it and check the envelope; shared by the server suites.
#pragma once

#include <gatehouse/server/http_service.hpp>

#include <gatehouse/iam/builtins.hpp>
#include <gatehouse/iam/secrets.hpp>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace gatehouse::testing {

inline const std::string jwt_secret = "gatehouse-http-test-secret-0123456789";
/// Small on purpose, so that the transport limits are cheap to reach.
inline constexpr std::size_t test_max_batch = 4;
inline constexpr std::size_t test_max_body = 256 * std::size_t{1024};
/// A flag's resource name, decided on throughout the suites.
inline const std::string flag = "project/web:env/prod:flag/dark-mode";

inline std::string jwt_for(
    const std::string& member_id, const std::string& organization,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) {
  using namespace std::chrono_literals;
  auto token = iam::mint_hs256(jwt_secret, member_id, organization, 1h, now);
  BOOST_REQUIRE(token.has_value());
  return *token;
}

/// A parsed response with its envelope checked: `success`, `errors` and `data` all present.
struct answer {
  server::http_response raw;
  rapidjson::Document json;

  [[nodiscard]] const rapidjson::Value& data() const { return json["data"]; }
  [[nodiscard]] std::string error() const {
    const auto& errors = json["errors"];
    return errors.Empty() ? std::string() : std::string(errors[0].GetString());
  }
};

/// An id no entity has.
inline const std::string not_a_token_id = "00000000-0000-4000-8000-000000000000";
/// A statement array denying ToggleFlag on every flag in production.
inline const std::string deny_prod_flags =
    R"([{"id":"no-prod","resourceType":"flag","effect":"deny","actions":["ToggleFlag"],)"
    R"("resources":["project/*:env/prod:flag/*"]}])";

/// A request body and the error code it must get.
struct body_case {
  const char* body;
  const char* code;
};
inline std::ostream& operator<<(std::ostream& os, const body_case& c) { return os << c.body; }

inline std::string text_of(const rapidjson::Value& v) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  v.Accept(w);
  return buffer.GetString();
}

inline std::string str(const rapidjson::Value& v, const char* key) {
  BOOST_REQUIRE_MESSAGE(v.IsObject() && v.HasMember(key) && v[key].IsString(),
                        "expected a string member " << key << " in " << text_of(v));
  return v[key].GetString();
}

/// The value of header `name` in `r`, or empty.
inline std::string header(const server::http_response& r, std::string_view name) {
  for (const auto& [key, value] : r.headers) {
    if (key == name) return value;
  }
  return {};
}

/// Whether a failure's data explains it in a `message`.
inline bool has_message(const answer& a) {
  return a.data().IsObject() && a.data().HasMember("message") && a.data()["message"].IsString();
}

// The service over an in-memory store, with the organization `acme` and its owner.
struct service_fixture {
  std::unique_ptr<iam::service> iam;
  server::metrics metrics;
  std::unique_ptr<server::http_service> service;
  std::string organization;
  std::string owner_id;
  std::string owner;  // the owner's Authorization header
  /// The IAM service's clock in milliseconds since the epoch, when set; the system's while 0.
  /// (Member JWTs are verified against the system clock all the same.)
  std::atomic<store::timestamp> clock_ms{0};

  service_fixture() : service_fixture(store::make_memory()) {}

  explicit service_fixture(std::unique_ptr<store::database> store,
                           server::http_limits limits = {.max_batch_checks = test_max_batch,
                                                         .max_body_bytes = test_max_body}) {
    auto key = iam::server_key::generate();
    BOOST_REQUIRE(key.has_value());
    iam::hooks hooks;
    hooks.clock = [this] {
      const store::timestamp set = clock_ms.load();
      if (set != 0) return set;
      using namespace std::chrono;
      return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
    };
    auto opened = iam::service::open(std::move(store), *key, iam::embedded_builtin_policies(), {},
                                     std::move(hooks));
    BOOST_REQUIRE(opened.has_value());
    iam = std::move(*opened);
    auto created = iam->create_organization("acme", "owner@example.com");
    BOOST_REQUIRE(created.has_value());
    organization = created->first.id;
    owner_id = created->second.id;
    owner = bearer(owner_id);
    service = std::make_unique<server::http_service>(
        *iam, iam::jwt_verifier(iam::jwt_algorithm::hs256, jwt_secret), metrics, limits);
  }

  [[nodiscard]] std::string bearer(const std::string& member_id) const {
    return "Bearer " + jwt_for(member_id, organization);
  }

  answer call(std::string_view method, std::string_view target, std::string_view authorization,
              std::string_view body = {}, std::string_view organization_header = {},
              std::string_view if_match = {}) {
    answer a;
    a.raw = service->handle_request({.method = method,
                                     .target = target,
                                     .authorization = authorization,
                                     .organization = organization_header,
                                     .if_match = if_match,
                                     .body = body});
    BOOST_REQUIRE(a.raw.status >= 200 && a.raw.status <= 599);
    if (a.raw.content_type != "application/json") return a;
    a.json.Parse(a.raw.body.c_str());
    BOOST_REQUIRE_MESSAGE(!a.json.HasParseError(), "not JSON: " << a.raw.body);
    BOOST_REQUIRE(a.json.IsObject());
    BOOST_REQUIRE(a.json.HasMember("success") && a.json["success"].IsBool());
    BOOST_REQUIRE(a.json.HasMember("errors") && a.json["errors"].IsArray());
    BOOST_REQUIRE(a.json.HasMember("data"));
    // Success and errors agree: no errors on success, exactly one code on failure.
    BOOST_REQUIRE_EQUAL(a.json["success"].GetBool(), a.json["errors"].Empty());
    BOOST_REQUIRE_EQUAL(a.json["success"].GetBool(), a.raw.status < 300);
    if (!a.json["errors"].Empty()) BOOST_REQUIRE_EQUAL(a.json["errors"].Size(), 1U);
    return a;
  }

  /// Calls and checks the status and, for failures, the error code; returns the answer.
  answer expect(unsigned status, std::string_view code, std::string_view method,
                std::string_view target, std::string_view authorization,
                std::string_view body = {}) {
    answer a = call(method, target, authorization, body);
    BOOST_TEST(a.raw.status == status, method << ' ' << target << " -> " << a.raw.body);
    BOOST_TEST(a.error() == code, method << ' ' << target << " -> " << a.raw.body);
    return a;
  }

  /// Adds a member through the API; returns its id. No policies: the default, Developer.
  std::string add_member(const std::string& email, const std::string& policy_ids = "[]") {
    auto a = expect(201, "", "POST", "/api/v1/members/add", owner,
                    R"({"email":")" + email + R"(","policyIds":)" + policy_ids + "}");
    return str(a.data(), "id");
  }

  /// Creates an access token through the API; returns the created token's data.
  answer create_token(const std::string& authorization, const std::string& name,
                      const std::string& type, const std::string& permissions = "[]") {
    return expect(
        201, "", "POST", "/api/v1/access-tokens", authorization,
        R"({"name":")" + name + R"(","type":")" + type + R"(","permissions":)" + permissions + "}");
  }

  std::string create_policy(const std::string& key, const std::string& statements) {
    auto a = expect(201, "", "POST", "/api/v1/policies", owner,
                    R"({"name":")" + key + R"(","key":")" + key + R"(","description":"d"})");
    std::string id = str(a.data(), "id");
    expect(200, "", "PUT", "/api/v1/policies/" + id + "/statements", owner, statements);
    return id;
  }

  answer decide(const std::string& authorization, const std::string& action,
                const std::string& resource) {
    return expect(200, "", "POST", "/api/v1/decisions", authorization,
                  R"({"action":")" + action + R"(","resource":")" + resource + R"("})");
  }
};

}  // namespace gatehouse::testing
