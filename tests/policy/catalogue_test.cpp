// Tests of the action catalogue: its size, per-type contents (SPEC §2.4), descriptions and name
// look-up.
#include <gatehouse/policy/catalogue.hpp>

#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cctype>
#include <set>
#include <string>
#include <vector>

namespace bdata = boost::unit_test::data;
using namespace gatehouse::policy;

BOOST_AUTO_TEST_SUITE(catalogue)

BOOST_AUTO_TEST_CASE(holds_the_48_actions_of_the_spec) {
  BOOST_TEST(action_catalogue.size() == 48U);
  BOOST_TEST(unlisted_action == 48U);
  BOOST_TEST(action_id_count == 49U);
}

BOOST_AUTO_TEST_CASE(names_are_unique) {
  std::set<std::string_view> names;
  for (const action_info& a : action_catalogue) names.insert(a.name);
  BOOST_TEST(names.size() == action_catalogue.size());
}

BOOST_AUTO_TEST_CASE(actions_per_resource_type_follow_the_spec) {
  std::vector<int> per_type(resource_types.size());
  for (const action_info& a : action_catalogue) {
    const auto it = std::find(resource_types.begin(), resource_types.end(), a.resource_type);
    BOOST_REQUIRE_MESSAGE(it != resource_types.end(), a.name);
    ++per_type[static_cast<std::size_t>(it - resource_types.begin())];
  }
  // workspace organization iam access-token relay-proxy project env flag segment
  const std::vector<int> expected = {3, 4, 1, 3, 2, 5, 6, 15, 9};
  BOOST_TEST(per_type == expected, boost::test_tools::per_element());
}

BOOST_DATA_TEST_CASE(find_action_returns_the_catalogue_index,
                     bdata::xrange(action_catalogue.size()), index) {
  const action_info& a = action_catalogue[index];
  BOOST_TEST(find_action(a.name) == index);
  BOOST_TEST(is_catalogue_action(a.name));
  BOOST_TEST(action_name(static_cast<action_id>(index)) == a.name);
  BOOST_TEST(is_resource_type(a.resource_type));
}

// Editors show the description beside the name (schemas/policy.schema.json): one line that says
// what the action lets a caller do.
BOOST_DATA_TEST_CASE(every_action_has_a_one_line_description,
                     bdata::xrange(action_catalogue.size()), index) {
  const std::string_view description = action_catalogue[index].description;
  BOOST_TEST_REQUIRE(!description.empty(), action_catalogue[index].name);
  BOOST_TEST(description.size() <= 80U, description);
  BOOST_TEST(std::isupper(static_cast<unsigned char>(description.front())), description);
  BOOST_TEST(std::none_of(description.begin(), description.end(),
                          [](char c) { return c == '\n' || c == '\r'; }),
             description);
  BOOST_TEST(!description.ends_with('.'), description);
}

BOOST_DATA_TEST_CASE(other_names_are_unlisted,
                     bdata::make({"", "*", "toggleflag", "ToggleFlag ", " ToggleFlag", "ToggleFla",
                                  "ToggleFlagX", "UnlistedAction", "flag"}),
                     name) {
  BOOST_TEST(find_action(name) == unlisted_action);
  BOOST_TEST(!is_catalogue_action(name));
}

BOOST_AUTO_TEST_CASE(the_unlisted_name_is_outside_the_catalogue) {
  const std::string_view name = action_name(unlisted_action);
  BOOST_TEST(!name.empty());
  BOOST_TEST(find_action(name) == unlisted_action);
  BOOST_TEST(std::none_of(action_catalogue.begin(), action_catalogue.end(),
                          [&](const action_info& a) { return a.name == name; }));
}

BOOST_DATA_TEST_CASE(resource_types_are_the_nine_of_the_spec,
                     bdata::make({"workspace", "organization", "iam", "access-token", "relay-proxy",
                                  "project", "env", "flag", "segment"}),
                     type) {
  BOOST_TEST(is_resource_type(type));
}

BOOST_DATA_TEST_CASE(other_strings_are_not_resource_types,
                     bdata::make({"", "*", "flags", "Flag", "environment", "token"}), type) {
  BOOST_TEST(!is_resource_type(type));
}

BOOST_AUTO_TEST_SUITE_END()
