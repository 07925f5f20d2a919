// The reference evaluator's building blocks: glob matching and statement matching.
#include <gatehouse/engine/reference.hpp>

#include <array>
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <ostream>

namespace {

using namespace gatehouse;

struct glob_vector {
  const char* pattern;
  const char* text;
  bool expected;
};
std::ostream& operator<<(std::ostream& os, const glob_vector& v) {
  return os << v.pattern << " ~ " << v.text;
}

// Three vectors per line, in columns.
// clang-format off
const std::array<glob_vector, 18> glob_vectors = {{
    {"*", "", true},         {"*", "anything", true},  {"", "", true},
    {"", "a", false},        {"a", "a", true},         {"a", "A", false},
    {"a*", "a", true},       {"a*", "ab", true},       {"a*", "ba", false},
    {"*a", "ba", true},      {"*a", "ab", false},      {"a*b", "ab", true},
    {"a*b", "axxb", true},   {"a*b", "axxba", false},  {"*a*a*", "aa", true},
    {"*a*a*", "a", false},   {"**", "x", true},        {"a*b*c", "abbbcbc", true},
}};
// clang-format on

BOOST_AUTO_TEST_SUITE(reference_tests)

BOOST_DATA_TEST_CASE(glob_matching, boost::unit_test::data::make(glob_vectors), v) {
  BOOST_TEST(engine::glob_match(v.pattern, v.text) == v.expected);
}

BOOST_AUTO_TEST_CASE(statement_matching_follows_spec) {
  policy::statement s{"s", "flag", policy::effect::allow, {"ToggleFlag"}, {"project/a", "env/*"}};
  BOOST_TEST(engine::reference::statement_matches(s, "ToggleFlag", "env/x"));
  BOOST_TEST(engine::reference::statement_matches(s, "ToggleFlag", "project/a:env/b"));
  BOOST_TEST(!engine::reference::statement_matches(s, "CreateFlag", "env/x"));
  s.actions = {"*"};
  BOOST_TEST(engine::reference::statement_matches(s, "Whatever", "env/x"));
  s.resource_type = "*";
  s.actions = {"CreateFlag"};
  BOOST_TEST(engine::reference::statement_matches(s, "ToggleFlag", ""));
}

BOOST_AUTO_TEST_CASE(evaluation_outcomes) {
  std::vector<engine::sourced_statement> s = {
      {"p", {"allow", "flag", policy::effect::allow, {"*"}, {"project/*"}}},
      {"p", {"deny", "flag", policy::effect::deny, {"*"}, {"project/secret"}}}};
  auto r = engine::reference::evaluate(s, "ToggleFlag", "project/open");
  BOOST_TEST((r.decision == engine::decision::allow));
  BOOST_TEST(r.determining == std::vector<std::uint32_t>{0}, boost::test_tools::per_element());
  r = engine::reference::evaluate(s, "ToggleFlag", "project/secret:env/x");
  BOOST_TEST((r.decision == engine::decision::explicit_deny));
  BOOST_TEST(r.determining == std::vector<std::uint32_t>{1}, boost::test_tools::per_element());
  r = engine::reference::evaluate(s, "ToggleFlag", "env/x");
  BOOST_TEST((r.decision == engine::decision::implicit_deny));
  BOOST_TEST(r.determining.empty());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
