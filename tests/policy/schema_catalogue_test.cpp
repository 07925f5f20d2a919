// schemas/policy.schema.json against what it is derived from: its action enum, with a description
// for each, is the catalogue; its resourceType enum is `resource_types`; its resource pattern
// accepts exactly what the resource-name grammar parses, on every shipped policy and on tables of
// strings, both ways.
#include <gatehouse/policy/catalogue.hpp>

#include <gatehouse/policy/document.hpp>
#include <gatehouse/policy/resource_name.hpp>

#include <rapidjson/document.h>
#include <rapidjson/pointer.h>
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::policy {
namespace {

namespace fs = std::filesystem;
namespace data = boost::unit_test::data;
using boost::test_tools::per_element;

fs::path source_dir() { return GATEHOUSE_SOURCE_DIR; }

constexpr const char* actions_items = "/definitions/statement/properties/actions/items";
constexpr const char* resources_items = "/definitions/statement/properties/resources/items";

const rapidjson::Document& schema() {
  static const rapidjson::Document parsed = [] {
    std::ifstream in(source_dir() / "schemas/policy.schema.json", std::ios::binary);
    const std::string text{std::istreambuf_iterator<char>(in), {}};
    rapidjson::Document doc;
    doc.Parse(text.data(), text.size());
    return doc;
  }();
  BOOST_TEST_REQUIRE(parsed.IsObject(), "schemas/policy.schema.json is not a JSON object");
  return parsed;
}

/// The schema's value at JSON pointer `pointer`, which must be there.
const rapidjson::Value& schema_value(const std::string& pointer) {
  const rapidjson::Value* value = rapidjson::Pointer(pointer.c_str()).Get(schema());
  BOOST_TEST_REQUIRE(value != nullptr, "the schema has nothing at " << pointer);
  return *value;
}

/// The array of strings at `pointer` of the schema.
std::vector<std::string> schema_strings(const std::string& pointer) {
  const rapidjson::Value& value = schema_value(pointer);
  BOOST_TEST_REQUIRE(value.IsArray(), pointer << " is not an array");
  std::vector<std::string> out;
  for (const auto& item : value.GetArray()) {
    BOOST_TEST_REQUIRE(item.IsString(), pointer << " holds a value that is not a string");
    out.emplace_back(item.GetString(), item.GetStringLength());
  }
  return out;
}

/// Reports each entry of `expected` that `actual` lacks, and each it has beyond, by name.
void same_entries(const std::vector<std::string>& actual, const std::vector<std::string>& expected,
                  const std::string& what) {
  for (const auto& e : expected) {
    BOOST_TEST((std::find(actual.begin(), actual.end(), e) != actual.end()),
               what << " lacks " << e);
  }
  for (const auto& a : actual) {
    BOOST_TEST((std::find(expected.begin(), expected.end(), a) != expected.end()),
               what << " has " << a << ", which the catalogue does not");
  }
}

// ---- The resource pattern against the grammar ---------------------------------------------------

const std::regex& resource_regex() {
  static const std::regex compiled = [] {
    const rapidjson::Value& pattern = schema_value(std::string(resources_items) + "/pattern");
    BOOST_TEST_REQUIRE(pattern.IsString());
    // JSON Schema patterns are ECMA-262 regular expressions, unanchored (a search).
    return std::regex(pattern.GetString(), std::regex::ECMAScript);
  }();
  return compiled;
}

bool pattern_accepts(const std::string& text) { return std::regex_search(text, resource_regex()); }

bool grammar_parses(const std::string& text) { return parse_resource_pattern(text).has_value(); }

/// Names that the grammar parses (SPEC 2.2 and 2.3), beyond the shipped policies: globs anywhere,
/// tags on any segment, `/` inside a key, bytes of UTF-8, names from examples/embed/embed.cpp.
const std::vector<std::string> valid_names = {
    "*",
    "*:*",
    "*;beta",
    "project/*",
    "project/web",
    "project/web:env/prod:flag/dark-mode",
    "project/web:env/prod:flag/dark-mode;beta",
    "project/web:env/*:flag/*;beta,ops",
    "project/foo;tagA,tagB",
    "project/foo;tag*",
    "project/*:env/*;us-east",
    "project/foo;dev:env/prod;us-east",
    "project/foo.bar",
    "project/*.bar",
    "anything/here",
    "*/x:env/*",
    "pro*/x:*:*",
    "project/a/b",
    "project/a//b",
    "*/*",
    "project/*web*",
    "access-token/*",
    "relay-proxy/*",
    "project/caf\xC3\xA9:env/\xE6\x9C\xAC\xE7\x95\xAA",
    "project/web:env/dev:flag/*",
    "project/web:env/prod:flag/*",
    "flag/x",
    "x/y:z/w:a/b:c/d:e/f",
};

/// Names that the grammar refuses, one per way a name can be malformed.
const std::vector<std::string> invalid_names = {
    "",
    "project",
    "project/",
    "project/web/",
    "project//",
    "/web",
    "/",
    "project/web:",
    ":project/web",
    ":",
    "project/a::env/b",
    "project:env/b",
    "project/a;",
    "project/a;x,",
    "project/a;x,,y",
    "project/a;,x",
    "project/a;b;c",
    ";beta",
    "project/a,b",
    "project/a b",
    " project/a",
    "project/a ",
    "project/a\tb",
    "project/a\nb",
    "project/a\n",
    std::string("project/a\0b", 11),
    "project/a\x7F",
    "project/a;t\x01",
    "*x",
    "**",
    "x*",
    "*/",
    "*;",
    "project/web:env/:flag/*",
    "project/web:/prod",
    ",",
};

BOOST_AUTO_TEST_SUITE(policy_schema)

BOOST_AUTO_TEST_CASE(action_enum_is_the_catalogue_in_order) {
  std::vector<std::string> expected{std::string(any_action)};
  for (const action_info& a : action_catalogue) expected.emplace_back(a.name);
  const auto actual = schema_strings(std::string(actions_items) + "/enum");
  same_entries(actual, expected, "the schema's action enum");
  BOOST_TEST(actual == expected, per_element());
}

BOOST_AUTO_TEST_CASE(each_action_has_the_catalogue_description) {
  std::vector<std::string> expected{std::string(any_action_description)};
  for (const action_info& a : action_catalogue) expected.emplace_back(a.description);
  // enumDescriptions[i] describes enum[i]: what VS Code shows beside a completion and on hover.
  BOOST_TEST(schema_strings(std::string(actions_items) + "/enumDescriptions") == expected,
             per_element());
}

BOOST_AUTO_TEST_CASE(resource_type_enum_is_the_catalogue_types) {
  std::vector<std::string> expected{"*"};
  expected.insert(expected.end(), resource_types.begin(), resource_types.end());
  const auto actual = schema_strings("/definitions/statement/properties/resourceType/enum");
  same_entries(actual, expected, "the schema's resourceType enum");
  BOOST_TEST(actual == expected, per_element());
}

BOOST_DATA_TEST_CASE(pattern_accepts_what_the_grammar_parses, data::make(valid_names), name) {
  BOOST_TEST(grammar_parses(name));
  BOOST_TEST(pattern_accepts(name));
}

BOOST_DATA_TEST_CASE(pattern_refuses_what_the_grammar_refuses, data::make(invalid_names), name) {
  BOOST_TEST(!grammar_parses(name));
  BOOST_TEST(!pattern_accepts(name));
}

// Every string of up to five symbols over an alphabet of the grammar's separators, a glob, a
// blank and name characters (one of them two bytes of UTF-8): the pattern and the parser agree on
// each.
BOOST_AUTO_TEST_CASE(pattern_agrees_with_the_grammar_on_every_short_string) {
  const std::vector<std::string> alphabet = {"a", "b", "/", ":", ";", ",", "*", " ", "\xC3\xA9"};
  std::vector<std::string> strings = {""};
  std::size_t accepted = 0;
  std::size_t disagreements = 0;
  for (std::size_t length = 1; length <= 5; ++length) {
    std::vector<std::string> longer;
    longer.reserve(strings.size() * alphabet.size());
    for (const auto& prefix : strings) {
      for (const auto& symbol : alphabet) longer.push_back(prefix + symbol);
    }
    strings = std::move(longer);
    for (const auto& s : strings) {
      const bool parses = grammar_parses(s);
      accepted += parses ? 1 : 0;
      if (parses != pattern_accepts(s) && ++disagreements <= 10) {
        BOOST_ERROR("\"" << s << "\": the grammar " << (parses ? "parses" : "refuses")
                         << " it, the schema's pattern does not");
      }
    }
  }
  BOOST_TEST(disagreements == 0U);
  // Both kinds occur, so the agreement says something.
  BOOST_TEST(accepted > 1000U);
}

BOOST_AUTO_TEST_CASE(pattern_accepts_every_resource_of_the_shipped_policies) {
  std::size_t checked = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(source_dir() / "policies", ec), end; !ec && it != end;
       it.increment(ec)) {
    if (!it->is_regular_file() || it->path().extension() != ".json") continue;
    const load_result loaded = load_policy_file(it->path().string());
    BOOST_TEST_REQUIRE(loaded.ok(), it->path());
    for (const statement& s : loaded.document->statements) {
      for (const std::string& resource : s.resources) {
        BOOST_TEST(pattern_accepts(resource), it->path().filename() << ": " << resource);
        ++checked;
      }
    }
  }
  BOOST_TEST(!ec);
  BOOST_TEST(checked >= 10U);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace gatehouse::policy
