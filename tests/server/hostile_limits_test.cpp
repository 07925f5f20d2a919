// SPEC §10's size limits through the HTTP request handler: every limit exactly at and one past
// it, on every route that takes the input; what is refused says why, and /healthz answers after.
#include <gatehouse/server/http_service.hpp>

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <ostream>
#include <string>
#include <string_view>

#include "hostile_fixture.hpp"

namespace {

using namespace gatehouse;
using namespace gatehouse::testing;
namespace data = boost::unit_test::data;

enum class limit_route {
  token_permissions,
  personal_token_scope,
  policy_statements,
  decision,
  batch_decision
};

struct limit_case {
  const char* name;
  limit_route route;
  std::string (*input)();
  /// The 400's code; empty when the input is within the limits.
  const char* code;
  /// What the 400's message says.
  std::string message;
};
std::ostream& operator<<(std::ostream& os, const limit_case& c) { return os << c.name; }

constexpr auto to_token = limit_route::token_permissions;
constexpr auto to_scope = limit_route::personal_token_scope;
constexpr auto to_policy = limit_route::policy_statements;
constexpr auto to_decision = limit_route::decision;
constexpr auto to_batch = limit_route::batch_decision;

const limit_case limit_cases[] = {
    // Pattern bytes: 1,024.
    {"token_pattern_1024_bytes", to_token, [] { return toggle_on({pattern_of_bytes(1024)}); }, "",
     ""},
    {"token_pattern_1025_bytes", to_token, [] { return toggle_on({pattern_of_bytes(1025)}); },
     permissions_invalid, "has 1025 bytes; a pattern may have at most 1024"},
    {"policy_pattern_1024_bytes", to_policy, [] { return toggle_on({pattern_of_bytes(1024)}); }, "",
     ""},
    {"policy_pattern_1025_bytes", to_policy, [] { return toggle_on({pattern_of_bytes(1025)}); },
     statements_invalid, "has 1025 bytes; a pattern may have at most 1024"},
    // A tag taking up the whole pattern is held to the same bytes.
    {"token_long_tag_1024_bytes", to_token, [] { return toggle_on({pattern_with_long_tag(1024)}); },
     "", ""},
    {"token_long_tag_1025_bytes", to_token, [] { return toggle_on({pattern_with_long_tag(1025)}); },
     permissions_invalid, "has 1025 bytes; a pattern may have at most 1024"},
    // Segments: 16.
    {"token_16_segments", to_token, [] { return toggle_on({pattern_of_segments(16)}); }, "", ""},
    {"token_17_segments", to_token, [] { return toggle_on({pattern_of_segments(17)}); },
     permissions_invalid, "has 17 segments; a pattern may have at most 16"},
    {"policy_16_segments", to_policy, [] { return toggle_on({pattern_of_segments(16)}); }, "", ""},
    {"policy_17_segments", to_policy, [] { return toggle_on({pattern_of_segments(17)}); },
     statements_invalid, "has 17 segments; a pattern may have at most 16"},
    // Tags per segment: 16.
    {"token_16_tags", to_token, [] { return toggle_on({pattern_of_tags(16)}); }, "", ""},
    {"token_17_tags", to_token, [] { return toggle_on({pattern_of_tags(17)}); },
     permissions_invalid, "has 17 tags; a segment may have at most 16"},
    {"policy_16_tags", to_policy, [] { return toggle_on({pattern_of_tags(16)}); }, "", ""},
    {"policy_17_tags", to_policy, [] { return toggle_on({pattern_of_tags(17)}); },
     statements_invalid, "has 17 tags; a segment may have at most 16"},
    // Actions and resources per statement: 100 each.
    {"token_100_actions", to_token, [] { return statement_with_actions(100); }, "", ""},
    {"token_101_actions", to_token, [] { return statement_with_actions(101); }, permissions_invalid,
     "\"actions\" has 101 entries; a statement may have at most 100"},
    {"policy_100_actions", to_policy, [] { return statement_with_actions(100); }, "", ""},
    {"policy_101_actions", to_policy, [] { return statement_with_actions(101); },
     statements_invalid, "\"actions\" has 101 entries; a statement may have at most 100"},
    {"token_100_resources", to_token, [] { return statement_with_resources(100); }, "", ""},
    {"token_101_resources", to_token, [] { return statement_with_resources(101); },
     permissions_invalid, "\"resources\" has 101 entries; a statement may have at most 100"},
    {"policy_100_resources", to_policy, [] { return statement_with_resources(100); }, "", ""},
    {"policy_101_resources", to_policy, [] { return statement_with_resources(101); },
     statements_invalid, "\"resources\" has 101 entries; a statement may have at most 100"},
    // Statements: 100 per token, 1,000 per stored policy.
    {"token_100_statements", to_token, [] { return statements(100); }, "", ""},
    {"token_101_statements", to_token, [] { return statements(101); }, permissions_invalid,
     "101 statements; at most 100"},
    {"scope_100_statements", to_scope, [] { return statements(100); }, "", ""},
    {"scope_101_statements", to_scope, [] { return statements(101); }, permissions_invalid,
     "101 statements; at most 100"},
    {"policy_1000_statements", to_policy, [] { return statements(1000); }, "", ""},
    {"policy_1001_statements", to_policy, [] { return statements(1001); }, statements_invalid,
     "1001 statements; at most 1000"},
    // A token's permissions: 64 KiB of compact JSON.
    {"token_65536_bytes", to_token, [] { return permissions_of_bytes(65536); }, "", ""},
    {"token_65537_bytes", to_token, [] { return permissions_of_bytes(65537); }, permissions_invalid,
     "larger than 64 KiB"},
    {"scope_65536_bytes", to_scope, [] { return permissions_of_bytes(65536); }, "", ""},
    {"scope_65537_bytes", to_scope, [] { return permissions_of_bytes(65537); }, permissions_invalid,
     "larger than 64 KiB"},
    // Globs that scan a name: policy::max_token_scanning_globs per token,
    // policy::max_policy_scanning_globs per stored policy.
    {"token_scanning_globs_at_the_limit", to_token,
     [] { return statements_scanning(policy::max_token_scanning_globs); }, "", ""},
    {"token_scanning_globs_past_the_limit", to_token,
     [] { return statements_scanning(policy::max_token_scanning_globs + 1); }, permissions_invalid,
     "brings the globs that scan a name to " +
         std::to_string(policy::max_token_scanning_globs + 1) + "; at most " +
         std::to_string(policy::max_token_scanning_globs)},
    {"policy_scanning_globs_at_the_limit", to_policy,
     [] { return statements_scanning(policy::max_policy_scanning_globs); }, "", ""},
    {"policy_scanning_globs_past_the_limit", to_policy,
     [] { return statements_scanning(policy::max_policy_scanning_globs + 1); }, statements_invalid,
     "brings the globs that scan a name to " +
         std::to_string(policy::max_policy_scanning_globs + 1) + "; at most " +
         std::to_string(policy::max_policy_scanning_globs)},
    // A request's resource name: 4,096 bytes, alone or in a batch.
    {"decision_4096_bytes", to_decision, [] { return name_of_bytes(4096); }, "", ""},
    {"decision_4097_bytes", to_decision, [] { return name_of_bytes(4097); }, resource_invalid,
     "longer than 4096 bytes"},
    {"batch_4096_bytes", to_batch, [] { return name_of_bytes(4096); }, "", ""},
    {"batch_4097_bytes", to_batch, [] { return name_of_bytes(4097); }, resource_invalid,
     "longer than 4096 bytes"},
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(hostile_tests, hostile_fixture)

// ---- Every size limit, at and one past -------------------------------------------------------

BOOST_DATA_TEST_CASE_F(hostile_fixture, size_limits_at_and_past, data::make(limit_cases), c) {
  const std::string input = c.input();
  const bool within = std::string_view(c.code).empty();
  answer a;
  switch (c.route) {
    case limit_route::token_permissions:
      a = try_token(owner, "t", input, within ? 201 : 400, c.code);
      // What was accepted is stored as given.
      if (within) BOOST_TEST(text_of(a.data()["permissions"]) == input);
      break;
    case limit_route::personal_token_scope:
      a = expect(within ? 201 : 400, c.code, "POST", "/api/v1/access-tokens", owner,
                 R"({"name":"t","type":"Personal","permissions":)" + input + "}");
      if (within) BOOST_TEST(text_of(a.data()["permissions"]) == input);
      break;
    case limit_route::policy_statements: {
      const std::string id = new_policy("limits");
      a = expect(within ? 200 : 400, c.code, "PUT", "/api/v1/policies/" + id + "/statements", owner,
                 input);
      const auto stored_now = expect(200, "", "GET", "/api/v1/policies/" + id, owner);
      BOOST_TEST(text_of(stored_now.data()["statements"]) == (within ? input : "[]"));
      break;
    }
    case limit_route::decision:
      a = expect(within ? 200 : 400, c.code, "POST", "/api/v1/decisions", owner,
                 R"({"action":"ToggleFlag","resource":")" + input + R"("})");
      if (within) BOOST_TEST(a.data()["allowed"].GetBool());
      break;
    case limit_route::batch_decision:
      a = expect(within ? 200 : 400, c.code, "POST", "/api/v1/decisions", owner,
                 R"({"checks":[{"action":"ToggleFlag","resource":"project/p"},)"
                 R"({"action":"ToggleFlag","resource":")" +
                     input + R"("}]})");
      if (within) BOOST_TEST(a.data()["results"].Size() == 2U);
      break;
  }
  if (!within) expect_message(a, c.message);
  expect_healthy();
}

BOOST_AUTO_TEST_SUITE_END()
