// The reference evaluator's building blocks: resource and statement matching.
#include <gatehouse/engine/reference.hpp>

#include <boost/test/unit_test.hpp>

using namespace gatehouse;

BOOST_AUTO_TEST_SUITE(reference_tests)

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
