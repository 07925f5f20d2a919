// Tests of the RN grammar (SPEC §2.2): accepted patterns and their parsed form, each error code
// with its offset, the error category, and printing round trips.
#include <gatehouse/policy/resource_name.hpp>

#include <boost/system/system_error.hpp>
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <ostream>
#include <set>
#include <string>
#include <vector>

namespace bdata = boost::unit_test::data;
using namespace gatehouse::policy;

namespace {

struct valid_case {
  std::string text;
  resource_pattern expected;
};
std::ostream& operator<<(std::ostream& os, const valid_case& c) { return os << c.text; }

struct error_case {
  std::string text;
  rn_errc code;
  std::size_t offset;
};
std::ostream& operator<<(std::ostream& os, const error_case& c) {
  return os << '"' << c.text << "\" -> " << make_error_code(c.code).message() << " @" << c.offset;
}

segment_pattern seg(std::string path, std::vector<std::string> tags = {}) {
  return {std::move(path), std::move(tags)};
}

const std::vector<valid_case> valid_cases = {
    {"project/web:env/*:flag/*;beta",
     {{seg("project/web"), seg("env/*"), seg("flag/*", {"beta"})}}},
    {"*", {{seg("*")}}},
    {"project/*:env/*;us-east", {{seg("project/*"), seg("env/*", {"us-east"})}}},
    {"access-token/*", {{seg("access-token/*")}}},
    {"project/foo;tag*", {{seg("project/foo", {"tag*"})}}},
    {"project/web:env/prod:flag/*;beta,ops",
     {{seg("project/web"), seg("env/prod"), seg("flag/*", {"beta", "ops"})}}},
    {"project/foo.bar", {{seg("project/foo.bar")}}},
    {"project/a/b/c", {{seg("project/a/b/c")}}},  // the key may hold '/'
    {"*/x", {{seg("*/x")}}},
    {"pro*ect/w*b", {{seg("pro*ect/w*b")}}},
    {"*;beta", {{seg("*", {"beta"})}}},
    {"project/*:*", {{seg("project/*"), seg("*")}}},
    {"project/caf\xC3\xA9;\xC3\xA9t\xC3\xA9",
     {{seg("project/caf\xC3\xA9", {"\xC3\xA9t\xC3\xA9"})}}},
    {"project/x;a/b", {{seg("project/x", {"a/b"})}}},
};

const std::vector<error_case> error_cases = {
    {"", rn_errc::empty, 0},
    {"a/b::c/d", rn_errc::empty_segment, 4},
    {":a/b", rn_errc::empty_segment, 0},
    {"a/b:", rn_errc::empty_segment, 4},
    {":", rn_errc::empty_segment, 0},
    {"project", rn_errc::missing_slash, 0},
    {"project/web:env", rn_errc::missing_slash, 12},
    {"*x", rn_errc::missing_slash, 0},
    {"**", rn_errc::missing_slash, 0},
    {";beta", rn_errc::missing_slash, 0},
    {"project/", rn_errc::trailing_slash, 7},
    {"project/web/", rn_errc::trailing_slash, 11},
    {"project/web:env//", rn_errc::trailing_slash, 16},
    {"project/web;t:env/;t", rn_errc::trailing_slash, 17},
    {"/web", rn_errc::missing_type, 0},
    {"project/web:/prod", rn_errc::missing_type, 12},
    {"/", rn_errc::missing_type, 0},
    {"a/b;", rn_errc::empty_tag, 4},
    {"a/b;x,,y", rn_errc::empty_tag, 6},
    {"a/b;x,", rn_errc::empty_tag, 6},
    {"a/b;,x", rn_errc::empty_tag, 4},
    {"a b/c", rn_errc::invalid_character, 1},
    {"a/b c", rn_errc::invalid_character, 3},
    {"a/b\t", rn_errc::invalid_character, 3},
    {std::string("a/b\0c", 5), rn_errc::invalid_character, 3},
    {"a/b\x7F", rn_errc::invalid_character, 3},
    {"a/b;x;y", rn_errc::invalid_character, 5},
    {"a/b;;x", rn_errc::invalid_character, 4},
    {"a/b,c", rn_errc::invalid_character, 3},
    {"a/b;x y", rn_errc::invalid_character, 5},
    {"project/web:env/prod x", rn_errc::invalid_character, 20},
};

}  // namespace

BOOST_AUTO_TEST_SUITE(resource_name)

BOOST_DATA_TEST_CASE(parses_valid_patterns, bdata::make(valid_cases), c) {
  const auto parsed = parse_resource_pattern(c.text);
  BOOST_TEST_REQUIRE(parsed.has_value());
  BOOST_TEST((*parsed == c.expected));
  BOOST_TEST(to_string(*parsed) == c.text);
}

BOOST_DATA_TEST_CASE(reports_each_error_with_its_offset, bdata::make(error_cases), c) {
  const auto parsed = parse_resource_pattern(c.text);
  BOOST_TEST_REQUIRE(parsed.has_error());
  BOOST_TEST((parsed.error().code == c.code));
  BOOST_TEST(parsed.error().offset == c.offset);
}

BOOST_AUTO_TEST_CASE(round_trips_built_patterns) {
  const std::vector<resource_pattern> patterns = {
      {{seg("*")}},
      {{seg("project/web", {"a", "b*", "c"}), seg("env/*"), seg("segment/s")}},
      {{seg("workspace/w/x")}},
      {{seg("*/*", {"*"}), seg("*")}},
  };
  for (const resource_pattern& p : patterns) {
    const auto reparsed = parse_resource_pattern(to_string(p));
    BOOST_TEST_REQUIRE(reparsed.has_value());
    BOOST_TEST((*reparsed == p));
  }
}

BOOST_AUTO_TEST_CASE(to_string_joins_segments_and_tags) {
  const resource_pattern p{{seg("project/web", {"x", "y"}), seg("env/prod")}};
  BOOST_TEST(to_string(p) == "project/web;x,y:env/prod");
}

BOOST_AUTO_TEST_CASE(error_category_names_every_code) {
  BOOST_TEST(std::string(rn_category().name()) == "gatehouse.rn");
  std::set<std::string> messages;
  for (int e = static_cast<int>(rn_errc::empty); e <= static_cast<int>(rn_errc::invalid_character);
       ++e) {
    const boost::system::error_code ec = make_error_code(static_cast<rn_errc>(e));
    BOOST_TEST((&ec.category() == &rn_category()));
    BOOST_TEST(ec.value() == e);
    messages.insert(ec.message());
  }
  BOOST_TEST(messages.size() == 7U);
  const boost::system::error_code implicit = rn_errc::missing_slash;
  BOOST_TEST(implicit.message() == make_error_code(rn_errc::missing_slash).message());
}

BOOST_AUTO_TEST_CASE(value_on_a_failure_throws_the_code) {
  const auto parsed = parse_resource_pattern("project");
  BOOST_CHECK_EXCEPTION((void)parsed.value(), boost::system::system_error,
                        [](const boost::system::system_error& e) {
                          return e.code() == make_error_code(rn_errc::missing_slash);
                        });
}

BOOST_AUTO_TEST_SUITE_END()
