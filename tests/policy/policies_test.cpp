// Every shipped file under policies/ and schemas/ loads cleanly, and the built-in policies hold
// exactly the statements of SPEC §2.6 under FeatBit's policy ids.
#include <gatehouse/policy/document.hpp>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::policy {
namespace {

namespace fs = std::filesystem;
namespace data = boost::unit_test::data;
using boost::test_tools::per_element;

fs::path source_dir() { return GATEHOUSE_SOURCE_DIR; }

/// The `.json` files under `folder` of the source tree, recursively, as paths relative to the
/// source tree, sorted so that test names are stable.
std::vector<std::string> json_files_under(std::string_view folder) {
  std::vector<std::string> files;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(source_dir() / folder, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->is_regular_file() && it->path().extension() == ".json") {
      files.push_back(it->path().lexically_relative(source_dir()).generic_string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

/// The findings of `file`, one formatted line each; empty when it loads cleanly.
std::string findings_of(const std::string& file) {
  const load_result loaded = load_policy_file((source_dir() / file).string());
  std::string text;
  for (const finding& f : loaded.findings) text += format_finding(file, f) + '\n';
  if (!loaded.ok() && text.empty()) text = file + ": does not load, without a finding\n";
  return text;
}

BOOST_AUTO_TEST_SUITE(shipped_policies)

// Guards the data-driven cases below, which would pass vacuously on an empty or moved folder.
BOOST_AUTO_TEST_CASE(shipped_files_are_found) {
  const auto policies = json_files_under("policies");
  const std::set<std::string> found(policies.begin(), policies.end());
  for (const char* expected :
       {"policies/owner.json", "policies/administrator.json", "policies/developer.json",
        "policies/examples/read-only-integration.json",
        "policies/examples/team-flags-one-project.json",
        "policies/examples/no-production-toggles.json"}) {
    BOOST_TEST(found.contains(expected),
               expected << " is not among " << policies.size() << " files found under policies/");
  }
  const auto schemas = json_files_under("schemas");
  BOOST_TEST(
      (std::find(schemas.begin(), schemas.end(), "schemas/policy.schema.json") != schemas.end()));
}

BOOST_DATA_TEST_CASE(loads_without_any_finding, data::make(json_files_under("policies")), file) {
  BOOST_TEST(findings_of(file) == "");
}

BOOST_DATA_TEST_CASE(schema_is_json_object, data::make(json_files_under("schemas")), file) {
  std::ifstream in(source_dir() / file, std::ios::binary);
  BOOST_TEST_REQUIRE(in.good(), "cannot open " << file);
  const std::string text{std::istreambuf_iterator<char>(in), {}};
  rapidjson::Document schema;
  schema.Parse(text.data(), text.size());
  BOOST_TEST(!schema.HasParseError(), file << " at byte " << schema.GetErrorOffset() << ": "
                                           << rapidjson::GetParseError_En(schema.GetParseError()));
  BOOST_TEST(schema.IsObject());
}

// Examples are what customers copy: they must say what they are for and be theirs to edit.
BOOST_DATA_TEST_CASE(example_is_customer_managed_and_described,
                     data::make(json_files_under("policies/examples")), file) {
  const load_result loaded = load_policy_file((source_dir() / file).string());
  BOOST_TEST_REQUIRE(loaded.ok());
  BOOST_TEST(loaded.document->type == "CustomerManaged");
  BOOST_TEST(!loaded.document->id.empty());
  BOOST_TEST(!loaded.document->key.empty());
  BOOST_TEST(!loaded.document->name.empty());
  BOOST_TEST(loaded.document->description.size() > 40u);
}

BOOST_AUTO_TEST_CASE(policy_ids_and_keys_are_unique) {
  std::set<std::string> ids;
  std::set<std::string> keys;
  for (const std::string& file : json_files_under("policies")) {
    const load_result loaded = load_policy_file((source_dir() / file).string());
    BOOST_TEST_REQUIRE(loaded.ok(), file);
    BOOST_TEST(ids.insert(loaded.document->id).second, file << " repeats a policy id");
    BOOST_TEST(keys.insert(loaded.document->key).second, file << " repeats a policy key");
  }
}

// ---- The built-ins, statement by statement (SPEC §2.6) -------------------------------------

struct expected_policy {
  std::string file;
  std::string id;
  std::string key;
  std::string name;
  std::vector<statement> statements;
};

statement allow(std::string id, std::string resource_type, std::vector<std::string> actions,
                std::string resource) {
  statement s;
  s.id = std::move(id);
  s.resource_type = std::move(resource_type);
  s.effect = effect::allow;
  s.actions = std::move(actions);
  s.resources = {std::move(resource)};
  return s;
}

void check_builtin(const expected_policy& expected) {
  const load_result loaded = load_policy_file((source_dir() / expected.file).string());
  BOOST_TEST_REQUIRE(loaded.ok(), expected.file << " does not load");
  const policy_document& doc = *loaded.document;
  BOOST_TEST(doc.id == expected.id);
  BOOST_TEST(doc.key == expected.key);
  BOOST_TEST(doc.name == expected.name);
  BOOST_TEST(doc.type == "SysManaged");
  BOOST_TEST(!doc.description.empty());
  BOOST_TEST_REQUIRE(doc.statements.size() == expected.statements.size());
  for (std::size_t i = 0; i < doc.statements.size(); ++i) {
    const statement& actual = doc.statements[i];
    const statement& wanted = expected.statements[i];
    BOOST_TEST_CONTEXT(expected.file << " statement " << i << " (" << wanted.id << ")") {
      BOOST_TEST(actual.id == wanted.id);
      BOOST_TEST(actual.resource_type == wanted.resource_type);
      BOOST_TEST((actual.effect == wanted.effect));
      BOOST_TEST(actual.actions == wanted.actions, per_element());
      BOOST_TEST(actual.resources == wanted.resources, per_element());
    }
  }
}

const std::vector<std::string> access_token_actions = {
    "ManageServiceAccessTokens", "ManagePersonalAccessTokens", "ListAccessTokens"};
const std::vector<std::string> relay_proxy_actions = {"ManageRelayProxies", "ListRelayProxies"};

BOOST_AUTO_TEST_CASE(owner_is_spec_2_6) {
  check_builtin({"policies/owner.json",
                 "98881f6a-5c6c-4277-bcf7-fda94c538785",
                 "owner",
                 "Owner",
                 {allow("owner-all", "*", {"*"}, "*")}});
}

BOOST_AUTO_TEST_CASE(administrator_is_spec_2_6) {
  check_builtin({"policies/administrator.json",
                 "3e961f0f-6fd4-4cf4-910f-52d356f8cc08",
                 "administrator",
                 "Administrator",
                 {
                     allow("administrator-iam", "iam", {"CanManageIAM"}, "iam/*"),
                     allow("administrator-access-tokens", "access-token", access_token_actions,
                           "access-token/*"),
                     allow("administrator-relay-proxies", "relay-proxy", relay_proxy_actions,
                           "relay-proxy/*"),
                     allow("administrator-projects", "project",
                           {"CanAccessProject", "CreateProject", "DeleteProject",
                            "UpdateProjectSettings", "CreateEnv"},
                           "project/*"),
                     allow("administrator-envs", "env",
                           {"CanAccessEnv", "DeleteEnv", "UpdateEnvSettings", "CreateEnvSecret",
                            "DeleteEnvSecret", "UpdateEnvSecret"},
                           "project/*:env/*"),
                     allow("administrator-workspace", "workspace",
                           {"UpdateWorkspaceGeneralSettings", "UpdateWorkspaceLicense",
                            "UpdateWorkspaceSSOSettings"},
                           "workspace/*"),
                     allow("administrator-organization", "organization",
                           {"UpdateOrgSortFlagsBy", "UpdateOrgName",
                            "UpdateOrgDefaultUserPermissions", "CreateOrg"},
                           "organization/*"),
                     allow("administrator-flags", "flag", {"*"}, "project/*:env/*:flag/*"),
                     allow("administrator-segments", "segment", {"*"}, "project/*:env/*:segment/*"),
                 }});
}

BOOST_AUTO_TEST_CASE(developer_is_spec_2_6) {
  check_builtin(
      {"policies/developer.json",
       "66f3687f-939d-4257-bd3f-c3553d39e1b6",
       "developer",
       "Developer",
       {
           allow("developer-access-tokens", "access-token", access_token_actions, "access-token/*"),
           allow("developer-relay-proxies", "relay-proxy", relay_proxy_actions, "relay-proxy/*"),
           allow("developer-projects", "project", {"CanAccessProject"}, "project/*"),
           allow("developer-envs", "env", {"CanAccessEnv"}, "project/*:env/*"),
           allow("developer-flags", "flag", {"*"}, "project/*:env/*:flag/*"),
           allow("developer-segments", "segment", {"*"}, "project/*:env/*:segment/*"),
       }});
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace gatehouse::policy
