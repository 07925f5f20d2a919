// Tests of policy loading: every finding code with its severity, pointer and line:column, the
// loaded statements, limits, and robustness against damaged input.
#include <gatehouse/policy/document.hpp>

#include <gatehouse/policy/limits.hpp>

#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <random>
#include <string>
#include <vector>

namespace bdata = boost::unit_test::data;
using namespace gatehouse::policy;

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

const char* name_of(severity s) { return s == severity::error ? "error" : "warning"; }

// A one-statement array whose resources line (line 4) holds `rn` at column 19.
std::string with_resource(const std::string& rn) {
  return "[\n"
         "  {\"id\": \"s1\", \"resourceType\": \"flag\", \"effect\": \"allow\",\n"
         "   \"actions\": [\"ToggleFlag\"],\n"
         "   \"resources\": [\"" +
         rn + "\"]}\n]\n";
}

std::string nested_arrays(std::size_t depth) {
  return "[\n" + std::string(depth - 1, '[') + std::string(depth, ']') + "\n";
}

std::string repeated_pointer(std::size_t n) {
  std::string p;
  for (std::size_t i = 0; i < n; ++i) p += "/0";
  return p;
}

std::string deep_pattern(std::size_t segments) {
  std::string p = "project/a";
  for (std::size_t i = 1; i < segments; ++i) p += ":env/e";
  return p;
}

std::string tagged_pattern(std::size_t tags) {
  std::string p = "project/a;t0";
  for (std::size_t i = 1; i < tags; ++i) p += ",t" + std::to_string(i);
  return p;
}

// A one-statement array whose `field` (line 3, value at column 15 for actions and 17 for
// resources) lists `items`.
std::string with_list(const std::string& field, const std::vector<std::string>& items) {
  std::string list;
  for (const auto& item : items) list += (list.empty() ? "\"" : ", \"") + item + "\"";
  const std::string actions = field == "actions" ? list : "\"ToggleFlag\"";
  const std::string resources = field == "resources" ? list : "\"project/*:env/*:flag/*\"";
  return "[\n  {\"id\": \"s1\", \"resourceType\": \"flag\", \"effect\": \"allow\",\n   \"" + field +
         "\": [" + (field == "actions" ? actions : resources) + "],\n   \"" +
         (field == "actions" ? "resources" : "actions") + "\": [" +
         (field == "actions" ? resources : actions) + "]}\n]\n";
}

std::vector<std::string> flag_patterns(std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i)
    out.push_back("project/p" + std::to_string(i) + ":env/*:flag/*");
  return out;
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

std::vector<const finding*> with_code(const load_result& r, std::string_view code) {
  std::vector<const finding*> out;
  for (const finding& f : r.findings) {
    if (f.code == code) out.push_back(&f);
  }
  return out;
}

std::vector<std::string> codes(const load_result& r) {
  std::vector<std::string> out;
  for (const finding& f : r.findings) out.push_back(f.code);
  return out;
}

bool has_error(const load_result& r) {
  return std::any_of(r.findings.begin(), r.findings.end(),
                     [](const finding& f) { return f.severity == severity::error; });
}

const char* const valid_document = R"({
  "id": "p-1", "key": "flag-editors", "name": "Flag editors", "description": "Edit flags",
  "type": "CustomerManaged",
  "statements": [
    {"id": "s1", "resourceType": "flag", "effect": "allow",
     "actions": ["UpdateFlagName", "ToggleFlag"],
     "resources": ["project/web:env/prod:flag/*;beta,ops"]},
    {"id": "s2", "resourceType": "env", "effect": "deny",
     "actions": ["*"], "resources": ["project/*:env/*;us-east", "project/web:env/prod"]}
  ]
})";

}  // namespace

BOOST_AUTO_TEST_SUITE(document)

// Each case document is otherwise valid, so the finding under test is the only one.
BOOST_DATA_TEST_CASE(reports_each_code_where_it_applies, bdata::make(finding_cases), c) {
  check_only_finding(c);
}

BOOST_DATA_TEST_CASE(locates_values_of_every_kind, bdata::make(located_cases), c) {
  check_only_finding(c);
}

// Exactly at each per-pattern and per-statement limit, a document loads. (A 16-segment pattern
// draws the never-matches warning: no resource name is that deep.)
BOOST_AUTO_TEST_CASE(a_statement_at_every_limit_loads) {
  for (const auto& json :
       {with_resource("project/" + std::string(1016, 'x')),
        with_resource(deep_pattern(max_pattern_segments)),
        with_resource(tagged_pattern(max_segment_tags)),
        with_list("actions", std::vector<std::string>(max_statement_actions, "ToggleFlag")),
        with_list("resources", flag_patterns(max_statement_resources))}) {
    const load_result r = load_policy(json);
    BOOST_TEST(r.ok());
    BOOST_TEST(std::none_of(r.findings.begin(), r.findings.end(), [](const finding& f) {
      return f.severity == severity::error || f.code != "never-matches";
    }));
  }
}

// `n` statements, `scanning` of whose patterns scan a name (*sN*), the rest prefixes.
std::string statement_array(std::size_t n, std::size_t scanning = 0) {
  std::string out = "[";
  for (std::size_t i = 0; i < n; ++i) {
    out += i == 0 ? "\n" : ",\n";
    const std::string rn = i < scanning ? "project/*s" + std::to_string(i) + "*" : "project/p*";
    out +=
        R"({"id": "s)" + std::to_string(i) +
        R"(", "resourceType": "project", "effect": "allow", "actions": ["CanAccessProject"], "resources": [")" +
        rn + R"("]})";
  }
  return out + "\n]";
}

// The limits of a whole set are warnings for a file checked alone and errors for what the
// service stores: a stored policy, a token's permissions.
BOOST_AUTO_TEST_CASE(set_limits_are_errors_only_for_what_is_stored) {
  struct set_case {
    std::string json;
    load_options options;
    const char* code;
    std::string pointer;
  };
  const std::vector<set_case> over = {
      {statement_array(max_policy_statements + 1), stored_policy, "too-many-statements", ""},
      {statement_array(max_token_statements + 1), token_permissions, "too-many-statements", ""},
      {statement_array(max_policy_scanning_globs + 1, max_policy_scanning_globs + 1), stored_policy,
       "too-many-scanning-globs", "/" + std::to_string(max_policy_scanning_globs) + "/resources/0"},
      {statement_array(max_token_scanning_globs + 1, max_token_scanning_globs + 1),
       token_permissions, "too-many-scanning-globs",
       "/" + std::to_string(max_token_scanning_globs) + "/resources/0"},
  };
  for (const auto& c : over) {
    const load_result stored = load_policy(c.json, c.options);
    BOOST_TEST(!stored.ok());
    BOOST_TEST_REQUIRE(stored.findings.size() == 1U);
    BOOST_TEST(stored.findings[0].code == c.code);
    BOOST_TEST(stored.findings[0].pointer == c.pointer);
    BOOST_TEST(name_of(stored.findings[0].severity) == "error");
    load_options checked = c.options;
    checked.over_set_limits = severity::warning;
    const load_result file = load_policy(c.json, checked);
    BOOST_TEST(file.ok());
    BOOST_TEST_REQUIRE(file.findings.size() == 1U);
    BOOST_TEST(name_of(file.findings[0].severity) == "warning");
  }
  // At the limits: no finding.
  BOOST_TEST(load_policy(statement_array(max_policy_statements), stored_policy).findings.empty());
  BOOST_TEST(load_policy(statement_array(max_token_scanning_globs, max_token_scanning_globs),
                         token_permissions)
                 .findings.empty());
  // Patterns under resourceType "*" are never compiled, so they never scan.
  std::string universal =
      statement_array(max_token_scanning_globs + 1, max_token_scanning_globs + 1);
  for (std::size_t at = universal.find("\"project\""); at != std::string::npos;
       at = universal.find("\"project\"", at)) {
    universal.replace(at, 9, "\"*\"");
  }
  const load_result ignored = load_policy(universal, token_permissions);
  BOOST_TEST(std::none_of(ignored.findings.begin(), ignored.findings.end(),
                          [](const finding& f) { return f.code == "too-many-scanning-globs"; }));
}

BOOST_AUTO_TEST_CASE(token_permissions_are_at_most_64_kib) {
  std::string json = statement_array(10);
  json.insert(1, std::string(max_token_permissions_bytes - json.size(), ' '));
  BOOST_TEST(load_policy(json, token_permissions).ok());
  json.insert(1, " ");
  const load_result r = load_policy(json, token_permissions);
  BOOST_TEST_REQUIRE(r.findings.size() == 1U);
  BOOST_TEST(r.findings[0].code == "document-too-large");
  BOOST_TEST(r.findings[0].message.find("64 KiB") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(statements_as_stored_are_read_whatever_the_validator_says) {
  const auto read = read_statements_as_stored(
      R"({"statements": [{"id": "a", "resourceType": "flag", "effect": "Allow",)"
      R"( "actions": ["TogleFlag", 7], "resources": ["x:::y"]}], "extra": 1})");
  BOOST_REQUIRE(read.has_value());
  BOOST_REQUIRE(read->size() == 1U);
  // An effect other than "allow" reads as deny, a non-string action as an empty one: nothing
  // read here grants more than was written.
  BOOST_TEST((read->front().effect == effect::deny));
  BOOST_TEST(read->front().actions == (std::vector<std::string>{"TogleFlag", ""}),
             boost::test_tools::per_element());
  BOOST_TEST(read->front().resources == std::vector<std::string>{"x:::y"},
             boost::test_tools::per_element());
  BOOST_TEST(!read_statements_as_stored("not json").has_value());
  BOOST_TEST(!read_statements_as_stored(R"({"no": "statements"})").has_value());
}

BOOST_AUTO_TEST_CASE(loads_a_document_with_its_metadata) {
  const load_result r = load_policy(valid_document);
  BOOST_TEST(r.findings.empty());
  BOOST_TEST_REQUIRE(r.ok());
  const policy_document& d = *r.document;
  BOOST_TEST(d.id == "p-1");
  BOOST_TEST(d.key == "flag-editors");
  BOOST_TEST(d.name == "Flag editors");
  BOOST_TEST(d.description == "Edit flags");
  BOOST_TEST(d.type == "CustomerManaged");
  BOOST_TEST_REQUIRE(d.statements.size() == 2U);
  const statement expected_first{"s1",
                                 "flag",
                                 effect::allow,
                                 {"UpdateFlagName", "ToggleFlag"},
                                 {"project/web:env/prod:flag/*;beta,ops"}};
  const statement expected_second{
      "s2", "env", effect::deny, {"*"}, {"project/*:env/*;us-east", "project/web:env/prod"}};
  BOOST_TEST((d.statements[0] == expected_first));
  BOOST_TEST((d.statements[1] == expected_second));
}

BOOST_AUTO_TEST_CASE(loads_a_bare_statement_array) {
  const load_result r = load_policy(
      R"([{"id": "owner", "resourceType": "*", "effect": "allow", "actions": ["*"],
           "resources": ["*"]}])");
  BOOST_TEST(r.findings.empty());
  BOOST_TEST_REQUIRE(r.ok());
  BOOST_TEST(r.document->id.empty());
  BOOST_TEST_REQUIRE(r.document->statements.size() == 1U);
  BOOST_TEST(r.document->statements[0].resource_type == "*");
}

BOOST_AUTO_TEST_CASE(an_empty_statement_list_loads) {
  BOOST_TEST(load_policy("[]").ok());
  BOOST_TEST(load_policy(R"({"statements": []})").ok());
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

BOOST_AUTO_TEST_CASE(the_any_action_and_any_type_are_accepted) {
  const load_result r = load_policy(R"([
  {"id": "s1", "resourceType": "*", "effect": "deny", "actions": ["*"], "resources": ["*"]},
  {"id": "s2", "resourceType": "segment", "effect": "allow", "actions": ["*"],
   "resources": ["project/*:env/*:segment/*"]}
])");
  BOOST_TEST(r.findings.empty());
  BOOST_TEST(r.ok());
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

BOOST_AUTO_TEST_CASE(too_many_findings_are_summarised) {
  // Six statements of 100 unknown actions each (a statement may have at most 100).
  std::string actions;
  for (int i = 0; i < 100; ++i) actions += std::string(i == 0 ? "" : ",") + "\"Bad\"";
  std::string statements;
  for (int s = 0; s < 6; ++s) {
    statements += std::string(s == 0 ? "" : ",") + R"({"id": "s)" + std::to_string(s) +
                  R"(", "resourceType": "flag", "effect": "allow", "actions": [)" + actions +
                  R"(], "resources": ["*"]})";
  }
  const load_result r = load_policy("[" + statements + "]");
  BOOST_TEST(!r.ok());
  BOOST_TEST_REQUIRE(r.findings.size() == 501U);
  BOOST_TEST(r.findings.back().code == "too-many-findings");
  BOOST_TEST(name_of(r.findings.back().severity) == "error");
  BOOST_TEST(r.findings.back().message.find("100 more") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_document_at_the_size_limit_is_parsed) {
  std::string text = "[]";
  text.resize(std::size_t{4} << 20, ' ');
  const load_result r = load_policy(text);
  BOOST_TEST(r.findings.empty());
  BOOST_TEST(r.ok());
}

BOOST_AUTO_TEST_CASE(the_nesting_limit_accepts_32_levels) {
  const load_result r = load_policy(nested_arrays(32));
  BOOST_TEST(with_code(r, "nesting-too-deep").empty());
  BOOST_TEST(!with_code(load_policy(nested_arrays(33)), "nesting-too-deep").empty());
}

BOOST_AUTO_TEST_CASE(format_finding_uses_the_compiler_layout) {
  const finding f{severity::warning, "never-matches", "fix it", "/0/resources", 4, 17};
  BOOST_TEST(format_finding("p.json", f) == "p.json:4:17: warning never-matches: fix it");
  const finding e{severity::error, "bad-effect", "no", "/0/effect", 1, 2};
  BOOST_TEST(format_finding("a/b.json", e) == "a/b.json:1:2: error bad-effect: no");
}

BOOST_AUTO_TEST_CASE(load_policy_file_reads_the_file) {
  const auto path = std::filesystem::temp_directory_path() / "gatehouse_document_test.json";
  {
    std::ofstream out(path, std::ios::binary);
    out << valid_document;
  }
  const load_result r = load_policy_file(path.string());
  std::filesystem::remove(path);
  BOOST_TEST_REQUIRE(r.ok());
  BOOST_TEST(r.document->statements.size() == 2U);
}

BOOST_AUTO_TEST_CASE(an_oversized_file_is_refused) {
  const auto path = std::filesystem::temp_directory_path() / "gatehouse_document_big.json";
  {
    std::ofstream out(path, std::ios::binary);
    out << std::string((std::size_t{4} << 20) + 10, ' ');
  }
  const load_result r = load_policy_file(path.string());
  std::filesystem::remove(path);
  BOOST_TEST(codes(r) == std::vector<std::string>{"document-too-large"},
             boost::test_tools::per_element());
}

BOOST_DATA_TEST_CASE(unreadable_files_give_one_error,
                     bdata::make({"/nonexistent/gatehouse/policy.json", "/"}), path) {
  const load_result r = load_policy_file(path);
  BOOST_TEST(!r.ok());
  BOOST_TEST_REQUIRE(r.findings.size() == 1U);
  const finding& f = r.findings[0];
  BOOST_TEST(f.code == "unreadable-file");
  BOOST_TEST(name_of(f.severity) == "error");
  BOOST_TEST(f.pointer == "");
  BOOST_TEST(f.line == 1U);
  BOOST_TEST(f.column == 1U);
  BOOST_TEST(f.message.find(path) != std::string::npos);
}

// Damaged documents never throw, load exactly when they have no error, and every finding points
// inside the text.
BOOST_AUTO_TEST_CASE(damaged_documents_fail_cleanly) {
  const std::string original = valid_document;
  std::mt19937 rng(20240601);
  const std::string alphabet = "{}[]:,\"\\ *;/-0aZ\n\x01\xC3";
  std::size_t loaded = 0;
  for (int round = 0; round < 2000; ++round) {
    std::string text = original;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = rng() % text.size();
      switch (rng() % 3) {
        case 0:
          text[at] = alphabet[rng() % alphabet.size()];
          break;
        case 1:
          text.erase(at, 1 + rng() % 4);
          break;
        default:
          text.insert(at, 1, alphabet[rng() % alphabet.size()]);
      }
    }
    const std::size_t lines =
        static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
    load_result r;
    BOOST_REQUIRE_NO_THROW(r = load_policy(text));
    BOOST_TEST(r.ok() == !has_error(r));
    for (const finding& f : r.findings) {
      BOOST_CHECK_MESSAGE(f.line >= 1 && f.line <= lines && f.column >= 1,
                          f.code << " at " << f.line << ':' << f.column << " in " << text);
      BOOST_TEST(!f.message.empty());
    }
    loaded += r.ok() ? 1 : 0;
  }
  // Some edits land in strings and keep the document valid; most break it.
  BOOST_TEST(loaded > 0U);
  BOOST_TEST(loaded < 2000U);
}

BOOST_AUTO_TEST_SUITE_END()
