// The hostile suites' vocabulary: statements, patterns and names built at and past each limit of
// SPEC §10, and the service with the transport's own limits, as served.
#pragma once

#include <gatehouse/iam/builtins.hpp>
#include <gatehouse/store/database.hpp>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <boost/test/unit_test.hpp>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "service_fixture.hpp"

namespace gatehouse::testing {

inline const std::string owner_policy(iam::owner_policy_id);
inline const std::string admin_policy(iam::administrator_policy_id);
inline const std::string developer_policy(iam::developer_policy_id);

inline std::string quoted(const std::string& s) { return '"' + s + '"'; }

/// `s` as a JSON string, escaped.
inline std::string json_string(const std::string& s) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  return buffer.GetString();
}

inline std::string list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += items[i];
  }
  return out + ']';
}

/// One statement as compact JSON, keys in the order the service writes them back.
inline std::string statement(const std::string& id, const std::string& type,
                             const std::string& effect, const std::vector<std::string>& actions,
                             const std::vector<std::string>& resources) {
  std::vector<std::string> a;
  std::vector<std::string> r;
  for (const auto& x : actions) a.push_back(quoted(x));
  for (const auto& x : resources) r.push_back(quoted(x));
  return R"({"id":)" + quoted(id) + R"(,"resourceType":)" + quoted(type) + R"(,"effect":)" +
         quoted(effect) + R"(,"actions":)" + list(a) + R"(,"resources":)" + list(r) + "}";
}

/// A statement array allowing ToggleFlag on `resources`.
inline std::string toggle_on(const std::vector<std::string>& resources) {
  return list({statement("s", "flag", "allow", {"ToggleFlag"}, resources)});
}

// ---- Inputs at and past each limit ------------------------------------------------------------

/// A pattern of `bytes` bytes.
inline std::string pattern_of_bytes(std::size_t bytes) {
  return "project/" + std::string(bytes - 8, 'a');
}

/// A pattern of `n` segments.
inline std::string pattern_of_segments(std::size_t n) {
  std::string p = "project/p";
  for (std::size_t i = 1; i < n; ++i) p += ":env/e" + std::to_string(i);
  return p;
}

/// A pattern whose one segment has `n` tags.
inline std::string pattern_of_tags(std::size_t n) {
  std::string p = "project/p;";
  for (std::size_t i = 0; i < n; ++i) p += (i > 0 ? ",t" : "t") + std::to_string(i);
  return p;
}

/// A pattern of `bytes` bytes, nearly all of them one tag.
inline std::string pattern_with_long_tag(std::size_t bytes) {
  return "project/p;" + std::string(bytes - 10, 't');
}

/// `n` resources that each scan a name (`*s12*`: two bytes or more between two stars).
inline std::vector<std::string> scanning_globs(std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back("project/*s" + std::to_string(i) + "*");
  return out;
}

/// `n` scanning globs spread over statements of at most 100 resources.
inline std::string statements_scanning(std::size_t n) {
  std::vector<std::string> statements;
  const auto globs = scanning_globs(n);
  for (std::size_t i = 0; i < n; i += policy::max_statement_resources) {
    const auto end = std::min(n, i + policy::max_statement_resources);
    statements.push_back(statement("g" + std::to_string(i), "flag", "allow", {"ToggleFlag"},
                                   {globs.begin() + static_cast<std::ptrdiff_t>(i),
                                    globs.begin() + static_cast<std::ptrdiff_t>(end)}));
  }
  return list(statements);
}

inline std::string statement_with_actions(std::size_t n) {
  static const std::vector<std::string> flag_actions = {"CreateFlag",
                                                        "ArchiveFlag",
                                                        "RestoreFlag",
                                                        "DeleteFlag",
                                                        "CloneFlag",
                                                        "CopyFlagTo",
                                                        "ToggleFlag",
                                                        "UpdateFlagName",
                                                        "UpdateFlagDescription",
                                                        "UpdateFlagOffVariation",
                                                        "UpdateFlagVariations",
                                                        "UpdateFlagTags",
                                                        "UpdateFlagDefaultRule",
                                                        "UpdateFlagIndividualTargeting",
                                                        "UpdateFlagTargetingRules"};
  std::vector<std::string> actions;
  for (std::size_t i = 0; i < n; ++i) actions.push_back(flag_actions[i % flag_actions.size()]);
  return list({statement("s", "flag", "allow", actions, {"project/*:env/*:flag/*"})});
}

inline std::string statement_with_resources(std::size_t n) {
  std::vector<std::string> resources;
  for (std::size_t i = 0; i < n; ++i) resources.push_back("project/p" + std::to_string(i));
  return toggle_on(resources);
}

inline std::string statements(std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(statement("s" + std::to_string(i), "flag", "allow", {"ToggleFlag"},
                            {"project/p" + std::to_string(i) + ":env/*:flag/*"}));
  }
  return list(out);
}

/// Permissions of exactly `bytes` bytes of compact JSON, the statement id taking up the rest.
inline std::string permissions_of_bytes(std::size_t bytes) {
  const std::string shell = toggle_on({"project/*"});
  const std::string id = std::string(bytes - shell.size() + 1, 'i');
  std::string out = list({statement(id, "flag", "allow", {"ToggleFlag"}, {"project/*"})});
  BOOST_REQUIRE_EQUAL(out.size(), bytes);
  return out;
}

/// A request resource name of `bytes` bytes.
inline std::string name_of_bytes(std::size_t bytes) {
  return "project/" + std::string(bytes - 8, 'n');
}

/// The codes of the 400s that refuse an input past a limit.
inline constexpr const char* permissions_invalid = "permissions_is_invalid";
inline constexpr const char* statements_invalid = "statements_is_invalid";
inline constexpr const char* resource_invalid = "resource_is_invalid";

// The service with the transport's own defaults (a 1 MiB body, 100 checks a batch), as served.
struct hostile_fixture : service_fixture {
  explicit hostile_fixture(std::unique_ptr<store::database> store = store::make_memory())
      : service_fixture(std::move(store), server::http_limits{}) {}

  void expect_healthy() { expect(200, "", "GET", "/healthz", ""); }

  /// A failure's message says `what`, and the answer does not echo a hostile input back.
  void expect_message(const answer& a, const std::string& what) {
    BOOST_TEST_REQUIRE(has_message(a), a.raw.body.substr(0, 200));
    BOOST_TEST(str(a.data(), "message").find(what) != std::string::npos,
               str(a.data(), "message") << " does not say: " << what);
    BOOST_TEST(a.raw.body.size() < 2048U);
  }

  std::string new_policy(const std::string& key) {
    return str(expect(201, "", "POST", "/api/v1/policies", owner,
                      R"({"name":")" + key + R"(","key":")" + key + R"("})")
                   .data(),
               "id");
  }

  std::string new_group(const std::string& name) {
    return str(
        expect(201, "", "POST", "/api/v1/groups", owner, R"({"name":")" + name + R"("})").data(),
        "id");
  }

  answer try_token(const std::string& authorization, const std::string& name,
                   const std::string& permissions, unsigned status, std::string_view code) {
    return expect(
        status, code, "POST", "/api/v1/access-tokens", authorization,
        R"({"name":")" + name + R"(","type":"Service","permissions":)" + permissions + "}");
  }

  /// A decision on any resource name, escaped into the body: counterexamples are the service's
  /// choice of bytes.
  answer decide_escaped(const std::string& authorization, const std::string& action,
                        const std::string& resource) {
    return expect(
        200, "", "POST", "/api/v1/decisions", authorization,
        R"({"action":)" + json_string(action) + R"(,"resource":)" + json_string(resource) + "}");
  }

  bool allowed(const std::string& authorization, const std::string& action,
               const std::string& resource) {
    return decide_escaped(authorization, action, resource).data()["allowed"].GetBool();
  }

  std::string decision_of(const std::string& authorization, const std::string& action,
                          const std::string& resource) {
    return str(decide_escaped(authorization, action, resource).data(), "decision");
  }
};

}  // namespace gatehouse::testing
