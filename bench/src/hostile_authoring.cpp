// The policy author's routes at their worst: what one member's request to validate, simulate or
// preview may carry within the limits (a body of 1 MiB, a stored policy's 1,000 statements and
// 64 scanning globs, a batch of 100 checks of 4,096-byte names), sent through the HTTP handler
// as the server answers it, with the member's JWT. Validate and simulate are open to every
// member and not capped; preview is one of the costly calls.
#include "failures.hpp"
#include "hostile.hpp"

#include <gatehouse/iam/builtins.hpp>
#include <gatehouse/iam/jwt.hpp>
#include <gatehouse/iam/service.hpp>
#include <gatehouse/policy/limits.hpp>
#include <gatehouse/server/http_service.hpp>
#include <gatehouse/store/database.hpp>

#include <rapidjson/document.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace gatehouse::bench {
namespace {

constexpr std::string_view jwt_secret = "gatehouse-bench-hostile-authoring-secret";

/// One request to a route of the author: its body and the answers that count as right.
struct authoring_case {
  std::string name;
  std::string kind;
  std::string shape;
  std::string method;
  /// The target below /api/v1; `{policy}` stands for the id of the case's stored policy.
  std::string target;
  std::string body;
  /// The statements stored in the case's policy before it is previewed (empty: none).
  std::string stored_json;
  std::vector<std::string> expected;
};

/// `{"id": "sN", "resourceType": "flag", "effect": ..., "actions": [action], "resources": [...]}`.
std::string statement_json(std::size_t index, std::string_view effect, std::string_view action,
                           const std::string& resource) {
  return R"({"id":"s)" + std::to_string(index) + R"(","resourceType":"flag","effect":")" +
         std::string(effect) + R"(","actions":[")" + std::string(action) + R"("],"resources":[")" +
         resource + R"("]})";
}

/// A statement array of `count` statements, statement i made by `make(i)`.
template <class Make>
std::string array_of(std::size_t count, Make&& make) {
  std::string out = "[";
  for (std::size_t i = 0; i < count; ++i) {
    if (i > 0) out += ',';
    out += make(i);
  }
  return out + "]";
}

/// A stored policy's worst: its 64 scanning globs, each a piece the long names below lack, and
/// the rest of its 1,000 statements prefixes that every name passes by.
std::string scanning_policy() {
  return array_of(policy::max_policy_statements, [](std::size_t i) {
    const std::string resource =
        i < policy::max_policy_scanning_globs
            ? "project/*ab" + std::string(8 + i % 16, 'a') + "b*:env/*:flag/*"
            : "project/a" + std::to_string(i) + "*:env/*:flag/*";
    return statement_json(i, i % 10 == 9 ? "deny" : "allow", "ToggleFlag", resource);
  });
}

authoring_case simulate_longest_batch() {
  // A name over {a, b} without "abaaaaaaaab": each scanning glob reads it through.
  std::string key;
  while (key.size() + 64 < policy::max_request_resource_bytes) key += "ab";
  const std::string check =
      R"({"action":"ToggleFlag","resource":"project/)" + key + R"(:env/prod:flag/f"})";
  std::string checks = "[";
  for (int i = 0; i < 100; ++i) checks += (i > 0 ? "," : "") + check;
  checks += "]";
  return {"simulate-1000-statements-100-long-names",
          "simulate",
          "1,000 statements, 64 of them scanning globs, against 100 checks of 4,096-byte names",
          "POST",
          "/policies/simulate",
          R"({"statements":)" + scanning_policy() + R"(,"checks":)" + checks + "}",
          "",
          {"200"}};
}

authoring_case validate_a_mebibyte_of_mistakes() {
  // Statements with a misspelt action each, as many as fit the body: every one a finding.
  std::string body = "[";
  for (std::size_t i = 0; body.size() + 200 < std::size_t{1024} * 1024; ++i) {
    if (i > 0) body += ',';
    body +=
        statement_json(i, "allow", "TogleFlag", "project/p" + std::to_string(i) + ":env/*:flag/*");
  }
  body += "]";
  return {"validate-a-mebibyte-of-mistakes",
          "validate",
          "1 MiB of statements, each with a misspelt action (a finding with a suggestion each)",
          "POST",
          "/policies/validate",
          std::move(body),
          "",
          {"200"}};
}

authoring_case preview_interleaved_stars() {
  const auto [denied, allowed] = interleaved_star_patterns();
  return {"preview-interleaved-stars",
          "preview",
          "stored: a deny of project/*A*B...* (1,024 bytes); proposed: an allow of "
          "project/*B*A...*: both comparisons meet the exponential intersection",
          "POST",
          "/policies/{policy}/preview",
          "[" + statement_json(0, "allow", "ToggleFlag", allowed) + "]",
          "[" + statement_json(0, "allow", "ToggleFlag", "project/*") + "," +
              statement_json(1, "deny", "ToggleFlag", denied) + "]",
          {"200", "403 CheckTooComplex"}};
}

authoring_case preview_thousand_against_thousand() {
  const auto denies = array_of(policy::max_policy_statements, [](std::size_t i) {
    return statement_json(
        i, i == 0 ? "allow" : "deny", "ToggleFlag",
        i == 0 ? "project/*:env/*:flag/*" : "project/p" + std::to_string(i) + "*:env/prod*:flag/*");
  });
  const auto allows = array_of(policy::max_policy_statements, [](std::size_t i) {
    return statement_json(
        i, "allow", "ToggleFlag",
        "project/p" + std::to_string(i % 997) + "*:env/d*:flag/f" + std::to_string(i));
  });
  return {"preview-1000-denies-against-1000-allows",
          "preview",
          "stored: an allow of every flag and 999 denies of project/pN*:env/prod*:flag/*; "
          "proposed: 1,000 allows of project/pN*:env/d*:flag/fM",
          "POST",
          "/policies/{policy}/preview",
          allows,
          denies,
          {"200", "403 CheckTooComplex"}};
}

/// "200", or the status and the envelope's error code.
std::string answer_of(const server::http_response& r) {
  if (r.status == 200) return "200";
  rapidjson::Document doc;
  doc.Parse(r.body.c_str());
  std::string code;
  if (!doc.HasParseError() && doc.IsObject() && doc.HasMember("errors") &&
      doc["errors"].IsArray() && !doc["errors"].Empty() && doc["errors"][0].IsString()) {
    code = doc["errors"][0].GetString();
  }
  return std::to_string(r.status) + " " + code;
}

}  // namespace

std::vector<hostile_case> authoring_cases(const hostile_options& options, std::size_t& mismatches) {
  auto iam =
      value_or_fail(iam::service::open(store::make_memory(),
                                       value_or_fail(iam::server_key::generate(), "no server key"),
                                       builtin_policies(options.policies_dir)),
                    "cannot open the service");
  const auto [org, owner] =
      value_or_fail(iam->create_organization("authors", "owner@bench.example"), "organization");
  const auto owner_caller = value_or_fail(iam->authenticate_member(owner.id, org.id), "owner");
  server::metrics metrics;
  server::http_service service(
      *iam, iam::jwt_verifier(iam::jwt_algorithm::hs256, std::string(jwt_secret)), metrics);
  using namespace std::chrono_literals;
  const std::string authorization =
      "Bearer " +
      value_or_fail(iam::mint_hs256(std::string(jwt_secret), owner.id, org.id, 1h), "member JWT");

  std::vector<hostile_case> out;
  const std::vector<authoring_case> cases = {validate_a_mebibyte_of_mistakes(),
                                             simulate_longest_batch(), preview_interleaved_stars(),
                                             preview_thousand_against_thousand()};
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    std::fprintf(stderr, "hostile: %s %s\n", c.kind.c_str(), c.name.c_str());
    std::string target = "/api/v1" + c.target;
    if (!c.stored_json.empty()) {
      const auto key = "previewed-" + std::to_string(i);
      const auto p = value_or_fail(iam->create_policy(owner_caller, key, key, ""), c.name);
      value_or_fail(iam->set_policy_statements(owner_caller, p.id, statements_of(c.stored_json)),
                    c.name + ": stored statements");
      target.replace(target.find("{policy}"), 8, p.id);
    }
    if (c.body.size() > service.limits().max_body_bytes) fail(c.name + ": body beyond the limit");
    std::string answer;
    const auto t = time_runs(options.runs, [&] {
      answer = answer_of(service.handle_request(
          {.method = c.method, .target = target, .authorization = authorization, .body = c.body}));
    });
    if (std::find(c.expected.begin(), c.expected.end(), answer) == c.expected.end()) {
      std::fprintf(stderr, "hostile: %s answered %s\n", c.name.c_str(), answer.c_str());
      ++mismatches;
    }
    out.push_back({c.name, c.kind, c.shape, c.body.size(), 0, answer, t.median_ms, t.max_ms});
  }
  return out;
}

}  // namespace gatehouse::bench
