// Tests of policy loading: the loaded statements and metadata, statements read as stored, files,
// and robustness against damaged input.
#include <gatehouse/policy/document.hpp>

#include "document_helpers.hpp"

#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace bdata = boost::unit_test::data;
using namespace gatehouse::policy;
using namespace gatehouse::policy::testing;

BOOST_AUTO_TEST_SUITE(document)

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

// Editors find a document's schema by its "$schema" key; the loader accepts the key (a string) in
// the object form and keeps nothing of it.
BOOST_AUTO_TEST_CASE(a_schema_key_names_the_editor_schema_and_nothing_else) {
  const load_result r = load_policy(R"({"$schema": "./schemas/policy.schema.json", "id": "p",
    "statements": [{"id": "s1", "resourceType": "flag", "effect": "allow",
                    "actions": ["ToggleFlag"], "resources": ["project/*:env/*:flag/*"]}]})");
  BOOST_TEST(r.findings.empty());
  BOOST_TEST_REQUIRE(r.ok());
  BOOST_TEST(r.document->id == "p");
  BOOST_TEST(r.document->statements.size() == 1U);

  const load_result number = load_policy(R"({"$schema": 4, "statements": []})");
  BOOST_TEST(codes(number) == std::vector<std::string>{"wrong-type"},
             boost::test_tools::per_element());
  BOOST_TEST(number.findings.at(0).pointer == "/$schema");
  // A statement is not a document: the key stays unknown there.
  const load_result in_statement = load_policy(
      R"([{"$schema": "x", "id": "s1", "resourceType": "*", "effect": "allow", "actions": ["*"],
           "resources": ["*"]}])");
  BOOST_TEST(codes(in_statement) == std::vector<std::string>{"unknown-key"},
             boost::test_tools::per_element());
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

// A document written by to_json loads back as the same document: how a shared store carries the
// built-in policies between instances.
BOOST_AUTO_TEST_CASE(a_written_document_loads_back_the_same) {
  for (const char* name : {"owner", "administrator", "developer"}) {
    const auto original =
        load_policy_file(std::string(GATEHOUSE_SOURCE_DIR) + "/policies/" + name + ".json");
    BOOST_REQUIRE(original.ok());
    const auto& d = *original.document;
    const auto again = load_policy(to_json(d));
    BOOST_REQUIRE_MESSAGE(again.ok(), name << ": " << to_json(d));
    const auto& e = *again.document;
    BOOST_TEST(e.id == d.id);
    BOOST_TEST(e.key == d.key);
    BOOST_TEST(e.name == d.name);
    BOOST_TEST(e.description == d.description);
    BOOST_TEST(e.type == d.type);
    BOOST_TEST((e.statements == d.statements));
  }
  // Empty metadata is left out, and text that needs escaping survives.
  policy_document bare;
  bare.name = "Quote \" and \\ and \u00e9";
  const auto text = to_json(bare);
  BOOST_TEST(text.find("\"id\"") == std::string::npos);
  const auto back = load_policy(text);
  BOOST_REQUIRE(back.ok());
  BOOST_TEST(back.document->name == bare.name);
  BOOST_TEST(back.document->statements.empty());
}

BOOST_AUTO_TEST_SUITE_END()
