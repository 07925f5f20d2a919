// Tests of the loader's findings: every finding code with its severity, pointer and line:column,
// positions through escapes, UTF-8 and byte order marks, suggestions, and their order.
#include <gatehouse/policy/document.hpp>

#include "document_helpers.hpp"

#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <ostream>
#include <string>
#include <vector>

namespace bdata = boost::unit_test::data;
using namespace gatehouse::policy;
using namespace gatehouse::policy::testing;

namespace {

struct finding_case {
  std::string code;
  severity level;
  std::string json;
  std::string pointer;
  std::size_t line;
  std::size_t column;
};
std::ostream& operator<<(std::ostream& os, const finding_case& c) {
  return os << c.code << " at " << (c.pointer.empty() ? "the root" : c.pointer);
}

std::string repeated_pointer(std::size_t n) {
  std::string p;
  for (std::size_t i = 0; i < n; ++i) p += "/0";
  return p;
}

// One case per finding code that load_policy can report; positions are 1-based line:column of
// the value (or key) the pointer names.
const std::vector<finding_case> finding_cases = {
    {"rn-too-long", severity::error, with_resource("project/" + std::string(1017, 'x')),
     "/0/resources/0", 4, 18},
    {"rn-too-deep", severity::error, with_resource(deep_pattern(max_pattern_segments + 1)),
     "/0/resources/0", 4, 18},
    {"rn-too-many-tags", severity::error, with_resource(tagged_pattern(max_segment_tags + 1)),
     "/0/resources/0", 4, 18},
    {"too-many-actions", severity::error,
     with_list("actions", std::vector<std::string>(max_statement_actions + 1, "ToggleFlag")),
     "/0/actions", 3, 15},
    {"too-many-resources", severity::error,
     with_list("resources", flag_patterns(max_statement_resources + 1)), "/0/resources", 3, 17},
    {"malformed-json", severity::error, R"([
  {"id": "s1",
   "effect" "allow"}
])",
     "/0", 3, 13},
    {"unknown-key", severity::error, R"([
  {"id": "s1", "resourceType": "flag", "effect": "allow",
   "actions": ["ToggleFlag"], "resources": ["project/*:env/*:flag/*"],
   "condition": {}}
])",
     "/0/condition", 4, 4},
    {"wrong-type", severity::error, R"({"statements": [
  {"id": "s1", "resourceType": "flag", "effect": "allow",
   "actions": "ToggleFlag", "resources": ["project/*:env/*:flag/*"]}
]})",
     "/statements/0/actions", 3, 15},
    {"missing-key", severity::error, R"([
  {"id": "s1", "resourceType": "flag",
   "actions": ["ToggleFlag"], "resources": ["project/*:env/*:flag/*"]}
])",
     "/0", 2, 3},
    {"empty-array", severity::error, R"([
  {"id": "s1", "resourceType": "flag", "effect": "allow",
   "actions": [], "resources": ["project/*:env/*:flag/*"]}
])",
     "/0/actions", 3, 15},
    {"bad-effect", severity::error, R"([
  {"id": "s1", "resourceType": "flag",
   "effect": "Allow",
   "actions": ["ToggleFlag"], "resources": ["project/*:env/*:flag/*"]}
])",
     "/0/effect", 3, 14},
    {"unknown-resource-type", severity::error, R"([
  {"id": "s1", "resourceType": "flags", "effect": "allow",
   "actions": ["ToggleFlag"], "resources": ["project/*:env/*:flag/*"]}
])",
     "/0/resourceType", 2, 32},
    {"unknown-action", severity::error, R"([
  {"id": "s1", "resourceType": "flag", "effect": "allow",
   "actions": ["ToggleFlag", "ToggelFlag"],
   "resources": ["project/*:env/*:flag/*"]}
])",
     "/0/actions/1", 3, 30},
    {"rn-empty", severity::error, with_resource(""), "/0/resources/0", 4, 19},
    {"rn-empty-segment", severity::error, with_resource("project/a::env/b"), "/0/resources/0", 4,
     29},
    {"rn-missing-slash", severity::error, with_resource("project:env/b"), "/0/resources/0", 4, 19},
    {"rn-trailing-slash", severity::error, with_resource("project/"), "/0/resources/0", 4, 26},
    {"rn-missing-type", severity::error, with_resource("project/a:/b"), "/0/resources/0", 4, 29},
    {"rn-empty-tag", severity::error, with_resource("project/a;x,,y"), "/0/resources/0", 4, 31},
    {"rn-invalid-character", severity::error, with_resource("project/a b"), "/0/resources/0", 4,
     28},
    {"schema-violation", severity::error, R"({"type": "Custom",
 "statements": []})",
     "/type", 1, 10},
    {"duplicate-key", severity::error, R"([
  {"id": "s1", "resourceType": "flag", "effect": "deny",
   "actions": ["ToggleFlag"], "resources": ["project/*:env/*:flag/*"],
   "effect": "allow"}
])",
     "/0/effect", 4, 4},
    {"nesting-too-deep", severity::error, nested_arrays(40), repeated_pointer(31), 2, 32},
    {"document-too-large", severity::error, std::string((std::size_t{4} << 20) + 1, ' '), "", 1, 1},
    {"action-type-mismatch", severity::warning, R"([
  {"id": "s1", "resourceType": "project", "effect": "allow",
   "actions": ["CanAccessProject", "ToggleFlag"],
   "resources": ["project/*"]}
])",
     "/0/actions/1", 3, 36},
    {"ignored-fields", severity::warning, R"([
  {"id": "s1", "resourceType": "*", "effect": "allow",
   "actions": ["*"],
   "resources": ["project/*"]}
])",
     "/0/resources", 4, 17},
    {"never-matches", severity::warning, R"([
  {"id": "s1", "resourceType": "flag", "effect": "allow",
   "actions": ["ToggleFlag"],
   "resources": ["flag/dark-mode", "env/*"]}
])",
     "/0/resources", 4, 17},
    {"duplicate-statement-id", severity::warning, R"([
  {"id": "s1", "resourceType": "iam", "effect": "allow", "actions": ["*"], "resources": ["iam/*"]},
  {"id": "s1", "resourceType": "iam", "effect": "deny", "actions": ["*"], "resources": ["iam/*"]}
])",
     "/1/id", 3, 10},
};

// A document with `value` as the effect of its one statement, which starts at line 3, column 14.
std::string with_effect(const std::string& value) {
  return "[\n"
         "  {\"id\": \"s1\", \"resourceType\": \"flag\",\n"
         "   \"effect\": " +
         value +
         ",\n"
         "   \"actions\": [\"ToggleFlag\"], \"resources\": [\"project/*:env/*:flag/*\"]}\n]\n";
}

// Cases for the position machinery: values are located by scanning back from where RapidJSON
// reports them, and each JSON type ends differently; escapes, pointer escaping, UTF-8 and a byte
// order mark each shift positions in their own way.
const std::vector<finding_case> located_cases = {
    {"wrong-type", severity::error, with_effect("true"), "/0/effect", 3, 14},
    {"wrong-type", severity::error, with_effect("false"), "/0/effect", 3, 14},
    {"wrong-type", severity::error, with_effect("null"), "/0/effect", 3, 14},
    {"wrong-type", severity::error, with_effect("-1.5e+3"), "/0/effect", 3, 14},
    {"wrong-type", severity::error, with_effect("42"), "/0/effect", 3, 14},
    {"wrong-type", severity::error, with_effect(R"({"a": 1})"), "/0/effect", 3, 14},
    {"wrong-type", severity::error, with_effect(R"(["allow"])"), "/0/effect", 3, 14},
    {"wrong-type", severity::error, "\n  \"statements\"", "", 2, 3},
    {"unknown-action", severity::error, R"([
  {"id": "s\"1", "resourceType": "flag", "effect": "allow",
   "actions": ["ToggleFlag", "a\\\"b\\\\"],
   "resources": ["project/*:env/*:flag/*"]}
])",
     "/0/actions/1", 3, 30},
    {"unknown-key", severity::error, R"([
  {"id": "s1", "resourceType": "flag", "effect": "allow", "actions": ["*"],
   "resources": ["*"], "a/b~c": 1}
])",
     "/0/a~1b~0c", 3, 24},
    // "é" is two bytes but one character, and the byte order mark is not a character at all.
    {"bad-effect", severity::error,
     "\xEF\xBB\xBF[\n  {\"id\": \"\xC3\xA9\", \"effect\": \"no\", \"resourceType\": \"iam\", "
     "\"actions\": [\"*\"], \"resources\": [\"iam/*\"]}\n]",
     "/0/effect", 2, 25},
    // An escape before the problem makes raw and decoded offsets differ: point at the quote.
    {"rn-trailing-slash", severity::error, with_resource("\\u0070roject/"), "/0/resources/0", 4,
     18},
    {"schema-violation", severity::error, R"([
  {"id": "", "resourceType": "iam", "effect": "allow", "actions": ["*"], "resources": ["iam/*"]}
])",
     "/0/id", 2, 10},
    {"malformed-json", severity::error, std::string("[]\n \0garbage", 12), "", 2, 2},
    // A \u escape of a pair's second half alone decodes to no character, in a value or a key
    // (a first half alone the parser refuses itself, where the second should be).
    {"malformed-json", severity::error, R"([{"id": "s\udc00"}])", "/0", 1, 9},
    {"malformed-json", severity::error, R"([{"i\udc00d": "s"}])", "/0", 1, 3},
    {"malformed-json", severity::error, R"([{"i\ud800d": "s"}])", "/0", 1, 5},
};

// Checks that `c.json` gives exactly the one finding `c` describes.
void check_only_finding(const finding_case& c) {
  const load_result r = load_policy(c.json);
  BOOST_TEST_REQUIRE(r.findings.size() == 1U);
  const finding& f = r.findings.front();
  BOOST_TEST(f.code == c.code);
  BOOST_TEST(name_of(f.severity) == name_of(c.level));
  BOOST_TEST(f.pointer == c.pointer);
  BOOST_TEST(f.line == c.line);
  BOOST_TEST(f.column == c.column);
  BOOST_TEST(!f.message.empty());
  BOOST_TEST(r.ok() == (c.level == severity::warning));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(document)

// Each case document is otherwise valid, so the finding under test is the only one.
BOOST_DATA_TEST_CASE(reports_each_code_where_it_applies, bdata::make(finding_cases), c) {
  check_only_finding(c);
}

BOOST_DATA_TEST_CASE(locates_values_of_every_kind, bdata::make(located_cases), c) {
  check_only_finding(c);
}

BOOST_AUTO_TEST_CASE(unknown_action_suggests_the_nearest_name) {
  const load_result r = load_policy(R"([
  {"id": "s1", "resourceType": "flag", "effect": "allow",
   "actions": ["ToggelFlag", "Completely-Different"], "resources": ["project/*:env/*:flag/*"]}
])");
  const auto found = with_code(r, "unknown-action");
  BOOST_TEST_REQUIRE(found.size() == 2U);
  BOOST_TEST(found[0]->message.find("did you mean \"ToggleFlag\"?") != std::string::npos);
  BOOST_TEST(found[1]->message.find("did you mean") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(one_bad_statement_does_not_hide_others) {
  const load_result r = load_policy(R"([
  {"id": "s1", "resourceType": "flag", "effect": "permit", "colour": "red",
   "actions": ["Nope"], "resources": ["project/*:env/*:flag/*"]},
  {"id": "s2", "resourceType": "flag", "effect": "allow",
   "actions": ["ToggleFlag"], "resources": ["project"]},
  {"id": "s3", "resourceType": "flag", "effect": "allow", "actions": [7], "resources": ["*"]}
])");
  BOOST_TEST(!r.ok());
  const std::vector<std::string> expected = {"bad-effect", "unknown-key", "unknown-action",
                                             "rn-missing-slash", "wrong-type"};
  BOOST_TEST(codes(r) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(findings_come_in_document_order) {
  const load_result r = load_policy(R"([
  {"id": "s1", "resourceType": "flag", "effect": "allow",
   "actions": ["Nope"], "resources": ["flag/"]},
  {"unexpected": 1, "id": "s2", "resourceType": "flag", "effect": "allow",
   "actions": ["*"], "resources": ["*"]}
])");
  BOOST_TEST_REQUIRE(r.findings.size() == 3U);
  for (std::size_t i = 1; i < r.findings.size(); ++i) {
    const finding& a = r.findings[i - 1];
    const finding& b = r.findings[i];
    BOOST_TEST((a.line < b.line || (a.line == b.line && a.column <= b.column)));
  }
}

BOOST_AUTO_TEST_CASE(missing_key_names_each_missing_key) {
  const load_result r = load_policy("[\n  {}\n]");
  const auto found = with_code(r, "missing-key");
  BOOST_TEST_REQUIRE(found.size() == 5U);
  for (const char* key :
       {"\"id\"", "\"resourceType\"", "\"effect\"", "\"actions\"", "\"resources\""}) {
    BOOST_TEST(std::any_of(found.begin(), found.end(), [&](const finding* f) {
      return f->message.find(key) != std::string::npos && f->line == 2 && f->column == 3;
    }));
  }
}

BOOST_AUTO_TEST_CASE(a_missing_statements_key_is_reported_at_the_document) {
  const load_result r = load_policy(R"({"name": "x"})");
  BOOST_TEST(codes(r) == std::vector<std::string>{"missing-key"}, boost::test_tools::per_element());
  BOOST_TEST(r.findings[0].pointer == "");
}

BOOST_AUTO_TEST_CASE(invalid_utf8_is_malformed_json) {
  const load_result r = load_policy("[\"\xFF\"]");
  BOOST_TEST(codes(r) == std::vector<std::string>{"malformed-json"},
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(wildcards_and_valid_shapes_are_not_never_matches) {
  for (const char* rn : {"*", "project/*", "project/*:env/*", "project/a:env/b:flag/c",
                         "project/a:env/b:segment/c", "workspace/*", "organization/o", "iam/*",
                         "access-token/*", "relay-proxy/*", "*/x:env/*", "pro*/x:*:*"}) {
    BOOST_CHECK_MESSAGE(load_policy(with_resource(rn)).findings.empty(), rn);
  }
  for (const char* rn :
       {"flag/x", "env/*", "project/a:flag/b", "project/a:env/b:flag/c:x/y", "projects/x"}) {
    BOOST_CHECK_MESSAGE(
        codes(load_policy(with_resource(rn))) == std::vector<std::string>{"never-matches"}, rn);
  }
}

BOOST_AUTO_TEST_CASE(one_matching_shape_is_enough) {
  const load_result r = load_policy(with_resource("flag/x\", \"project/*:env/*:flag/x"));
  BOOST_TEST(r.findings.empty());
}

BOOST_AUTO_TEST_CASE(ignored_fields_reports_actions_and_resources_separately) {
  const load_result r = load_policy(R"([
  {"id": "s1", "resourceType": "*", "effect": "allow",
   "actions": ["ToggleFlag"], "resources": ["project/*"]}
])");
  const auto found = with_code(r, "ignored-fields");
  BOOST_TEST_REQUIRE(found.size() == 2U);
  BOOST_TEST(found[0]->pointer == "/0/actions");
  BOOST_TEST(found[1]->pointer == "/0/resources");
  BOOST_TEST(r.ok());
}

BOOST_AUTO_TEST_CASE(format_finding_uses_the_compiler_layout) {
  const finding f{severity::warning, "never-matches", "fix it", "/0/resources", 4, 17};
  BOOST_TEST(format_finding("p.json", f) == "p.json:4:17: warning never-matches: fix it");
  const finding e{severity::error, "bad-effect", "no", "/0/effect", 1, 2};
  BOOST_TEST(format_finding("a/b.json", e) == "a/b.json:1:2: error bad-effect: no");
}

BOOST_AUTO_TEST_SUITE_END()
