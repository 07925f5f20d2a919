// Tests of the loader's limits: each per-statement limit exactly met and passed, the limits of a
// whole set as warnings or errors, document size, nesting depth and the findings cap.
#include <gatehouse/policy/document.hpp>

#include "document_helpers.hpp"

#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <gatehouse/policy/limits.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace bdata = boost::unit_test::data;
using namespace gatehouse::policy;
using namespace gatehouse::policy::testing;

namespace {

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

}  // namespace

BOOST_AUTO_TEST_SUITE(document)

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

BOOST_AUTO_TEST_SUITE_END()
