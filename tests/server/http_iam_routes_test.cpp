// The IAM routes of the HTTP request handler, called directly: access tokens (where a secret may
// appear), policies, groups and members, the IAM service's limits, and store failures as 500s.
#include <gatehouse/server/http_service.hpp>

#include <gatehouse/iam/builtins.hpp>
#include <gatehouse/iam/secrets.hpp>

#include <rapidjson/document.h>

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <regex>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "service_fixture.hpp"

namespace {

using namespace gatehouse;
using namespace gatehouse::testing;
namespace data = boost::unit_test::data;

bool is_iso_time(const rapidjson::Value& v) {
  static const std::regex pattern(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
  return v.IsString() && std::regex_match(v.GetString(), pattern);
}

/// A store whose commits succeed, fail or throw, as the test says.
class scripted_store final : public store::database {
 public:
  enum class mode { succeed, fail, unreachable, throw_exception };

  explicit scripted_store(std::shared_ptr<mode> m) : mode_(std::move(m)) {}

  boost::system::result<store::stored_state> load(
      const std::function<void(store::token_record&&)>& /*on_token*/) override {
    return store::stored_state{};
  }

  boost::system::error_code commit(std::span<const store::change> /*changes*/) override {
    switch (*mode_) {
      case mode::fail:
        return make_error_code(boost::system::errc::io_error);
      case mode::unreachable:
        return store::make_error_code(store::errc::unavailable);
      case mode::throw_exception:
        throw std::runtime_error("the disk is on fire");
      case mode::succeed:
        break;
    }
    return {};
  }

 private:
  std::shared_ptr<mode> mode_;
};

struct scripted_store_fixture : service_fixture {
  std::shared_ptr<scripted_store::mode> store_mode;

  scripted_store_fixture() : scripted_store_fixture(std::make_shared<scripted_store::mode>()) {}
  explicit scripted_store_fixture(std::shared_ptr<scripted_store::mode> m)
      : service_fixture(std::make_unique<scripted_store>(m)), store_mode(std::move(m)) {}
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(http_service_tests, service_fixture)

// ---- Access tokens -----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(the_secret_appears_only_in_the_create_response) {
  const std::string scope =
      R"([{"id":"s1","resourceType":"flag","effect":"allow","actions":["ToggleFlag"],)"
      R"("resources":["project/web:env/*:flag/*"]}])";
  auto created = create_token(owner, "ci", "Personal", scope);
  const auto& t = created.data();
  const std::string secret = str(t, "token");
  BOOST_TEST(iam::looks_like_token_secret(secret));
  BOOST_TEST(secret.starts_with(str(t, "secretPrefix")));
  BOOST_TEST(str(t, "secretPrefix").size() < secret.size());
  BOOST_TEST(str(t, "name") == "ci");
  BOOST_TEST(str(t, "type") == "Personal");
  BOOST_TEST(str(t, "status") == "Active");
  BOOST_TEST(str(t, "creatorId") == owner_id);
  BOOST_TEST(text_of(t["permissions"]) == scope);
  BOOST_TEST(is_iso_time(t["createdAt"]));
  BOOST_TEST(is_iso_time(t["updatedAt"]));
  BOOST_TEST(t["lastUsedAt"].IsNull());
  const std::string id = str(t, "id");

  // Using the token: its subject is its id, never its secret.
  auto used = decide(secret, "ToggleFlag", flag);
  BOOST_TEST(used.data()["allowed"].GetBool());
  BOOST_TEST(str(used.data()["subject"], "kind") == "personal-token");
  BOOST_TEST(str(used.data()["subject"], "id") == id);
  BOOST_TEST(used.raw.subject == "personal-token:" + id);
  // Scoped: beyond its scope the token is denied although its creator is Owner.
  BOOST_TEST(!decide("Bearer " + secret, "DeleteFlag", flag).data()["allowed"].GetBool());

  std::vector<answer> later;
  later.push_back(expect(200, "", "GET", "/api/v1/access-tokens", owner));
  later.push_back(expect(200, "", "GET", "/api/v1/access-tokens?name=c&type=Personal", owner));
  later.push_back(
      expect(200, "", "PUT", "/api/v1/access-tokens/" + id, owner, R"({"name":"ci2"})"));
  later.push_back(expect(200, "", "PUT", "/api/v1/access-tokens/" + id + "/toggle", owner));
  later.push_back(expect(200, "", "PUT", "/api/v1/access-tokens/" + id + "/toggle", owner));
  later.push_back(decide(secret, "ToggleFlag", flag));
  later.push_back(call("GET", "/metrics", ""));
  for (const auto& a : later) {
    BOOST_TEST(a.raw.body.find(secret) == std::string::npos);
    BOOST_TEST(a.raw.subject.find(secret) == std::string::npos);
  }
  const auto& listed = later[0].data();
  BOOST_TEST(listed["totalCount"].GetUint64() == 1U);
  BOOST_REQUIRE(listed["items"].Size() == 1U);
  BOOST_TEST(!listed["items"][0].HasMember("token"));
  BOOST_TEST(str(listed["items"][0], "secretPrefix") == str(t, "secretPrefix"));
  BOOST_TEST(is_iso_time(listed["items"][0]["lastUsedAt"]));
  BOOST_TEST(text_of(listed["items"][0]["permissions"]) == scope);
}

BOOST_AUTO_TEST_CASE(token_lifecycle_through_the_api) {
  const std::string statements =
      R"([{"id":"a","resourceType":"flag","effect":"allow","actions":["ToggleFlag"],)"
      R"("resources":["project/*:env/*:flag/*"]}])";
  const std::string secret = str(create_token(owner, "svc", "Service", statements).data(), "token");
  auto list =
      expect(200, "", "GET", "/api/v1/access-tokens?type=Service&pageIndex=0&pageSize=5", owner);
  BOOST_REQUIRE(list.data()["items"].Size() == 1U);
  const std::string id = str(list.data()["items"][0], "id");
  BOOST_TEST(str(list.data()["items"][0], "type") == "Service");

  auto renamed = expect(200, "", "PUT", "/api/v1/access-tokens/" + id, owner, R"({"name":"svc2"})");
  BOOST_TEST(str(renamed.data(), "name") == "svc2");
  auto off = expect(200, "", "PUT", "/api/v1/access-tokens/" + id + "/toggle", owner);
  BOOST_TEST(str(off.data(), "status") == "Inactive");
  // An inactive token is known but refused: 403, as the host should answer its caller.
  expect(403, "Forbidden", "POST", "/api/v1/decisions", secret,
         R"({"action":"ToggleFlag","resource":"project/x"})");
  auto on = expect(200, "", "PUT", "/api/v1/access-tokens/" + id + "/toggle", owner);
  BOOST_TEST(str(on.data(), "status") == "Active");
  BOOST_TEST(str(decide(secret, "ToggleFlag", flag).data()["subject"], "kind") == "service-token");

  auto deleted = expect(200, "", "DELETE", "/api/v1/access-tokens/" + id, owner);
  BOOST_TEST(deleted.data().IsTrue());
  expect(401, "Unauthorized", "POST", "/api/v1/decisions", secret,
         R"({"action":"ToggleFlag","resource":"project/x"})");
  expect(404, "ResourceNotFound", "DELETE", "/api/v1/access-tokens/" + id, owner);
  expect(404, "ResourceNotFound", "PUT", "/api/v1/access-tokens/" + not_a_token_id + "/toggle",
         owner);
  expect(404, "ResourceNotFound", "PUT", "/api/v1/access-tokens/is-name-used", owner,
         R"({"name":"x"})");
}

BOOST_AUTO_TEST_CASE(tokens_cannot_manage_tokens) {
  const std::string secret = str(create_token(owner, "p", "Personal").data(), "token");
  for (const auto& [method, target, body] : std::vector<std::array<std::string, 3>>{
           {"GET", "/api/v1/access-tokens", ""},
           {"GET", "/api/v1/access-tokens/is-name-used?name=p", ""},
           {"POST", "/api/v1/access-tokens", R"({"name":"more","type":"Personal"})"},
       }) {
    auto a = expect(403, "Forbidden", method, target, secret, body);
    BOOST_TEST(a.data().IsNull());
    BOOST_TEST(a.raw.subject.starts_with("personal-token:"));
  }
}

BOOST_AUTO_TEST_CASE(capped_token_creation_names_a_counterexample) {
  const std::string dev = bearer(add_member("dev@example.com"));
  auto a = expect(403, "Forbidden", "POST", "/api/v1/access-tokens", dev,
                  R"({"name":"escalate","type":"Service","permissions":)"
                  R"([{"id":"s","resourceType":"iam","effect":"allow",)"
                  R"("actions":["CanManageIAM"],"resources":["iam/*"]}]})");
  const auto& ce = a.data()["counterexample"];
  BOOST_TEST(str(ce, "action") == "CanManageIAM");
  BOOST_TEST(str(ce, "resource").starts_with("iam/"));
  // Within the developer's rights the same request succeeds.
  create_token(dev, "flags", "Service",
               R"([{"id":"s","resourceType":"flag","effect":"allow","actions":["ToggleFlag"],)"
               R"("resources":["project/*:env/*:flag/*"]}])");
}

BOOST_AUTO_TEST_CASE(removing_a_member_revokes_their_personal_tokens) {
  const std::string dev_id = add_member("dev@example.com");
  const std::string dev = bearer(dev_id);
  const std::string personal = str(create_token(dev, "mine", "Personal").data(), "token");
  const std::string service_secret =
      str(create_token(dev, "svc", "Service",
                       R"([{"id":"s","resourceType":"flag","effect":"allow",)"
                       R"("actions":["ToggleFlag"],"resources":["project/*:env/*:flag/*"]}])")
              .data(),
          "token");
  decide(personal, "ToggleFlag", flag);

  auto removed = expect(200, "", "DELETE", "/api/v1/members/remove-from-org/" + dev_id, owner);
  BOOST_TEST(removed.data().IsTrue());
  const std::string body = R"({"action":"ToggleFlag","resource":")" + flag + R"("})";
  expect(401, "Unauthorized", "POST", "/api/v1/decisions", personal, body);
  expect(401, "Unauthorized", "POST", "/api/v1/decisions", dev, body);
  // Service tokens survive their creator.
  BOOST_TEST(decide(service_secret, "ToggleFlag", flag).data()["allowed"].GetBool());
  auto list = expect(200, "", "GET", "/api/v1/access-tokens?type=Personal", owner);
  BOOST_REQUIRE(list.data()["items"].Size() == 1U);
  BOOST_TEST(str(list.data()["items"][0], "status") == "Revoked");
  const std::string id = str(list.data()["items"][0], "id");
  auto revived = expect(409, "Conflict", "PUT", "/api/v1/access-tokens/" + id + "/toggle", owner);
  BOOST_TEST(has_message(revived));
}

const body_case bad_token_bodies[] = {
    {R"({"type":"Personal"})", "name_is_required"},
    {R"({"name":"","type":"Personal"})", "name_is_required"},
    {R"({"name":5,"type":"Personal"})", "name_is_invalid"},
    {R"({"name":"n"})", "type_is_required"},
    {R"({"name":"n","type":"personal"})", "type_is_invalid"},
    {R"({"name":"n","type":"Personal","permissions":{}})", "permissions_is_invalid"},
    {R"({"name":"n","type":"Service"})", "permissions_is_required"},
    {R"({"name":"n","type":"Service","permissions":[]})", "permissions_is_required"},
    {R"({"name":"n","type":"Personal","permissions":[{"id":"s","resourceType":"flag",)"
     R"("effect":"allow","actions":["NoSuchAction"],"resources":["project/*"]}]})",
     "permissions_is_invalid"},
    {R"({"name":"n\u0001","type":"Personal"})", "name_is_invalid"},
    {"[]", "body_is_invalid"},
    {"{]", "InvalidJson"},
};

BOOST_DATA_TEST_CASE_F(service_fixture, bad_token_requests_get_400, data::make(bad_token_bodies),
                       c) {
  expect(400, c.code, "POST", "/api/v1/access-tokens", owner, c.body);
}

struct query_case {
  const char* query;
  const char* code;
};
std::ostream& operator<<(std::ostream& os, const query_case& c) { return os << c.query; }

const query_case bad_token_queries[] = {
    {"?pageIndex=-1", "pageIndex_is_invalid"},
    {"?pageIndex=x", "pageIndex_is_invalid"},
    {"?pageIndex=1.5", "pageIndex_is_invalid"},
    {"?pageIndex=", "pageIndex_is_invalid"},
    {"?pageIndex=+1", "pageIndex_is_invalid"},
    {"?pageIndex=99999999999999999999999", "pageIndex_is_invalid"},
    {"?pageIndex=1000001", "pageIndex_is_invalid"},
    {"?pageSize=0", "pageSize_is_invalid"},
    {"?pageSize=101", "pageSize_is_invalid"},  // the IAM service's page limit
    {"?pageSize=%201", "pageSize_is_invalid"},
    {"?type=personal", "type_is_invalid"},
    {"?type=Personal&type=Service", "type_is_invalid"},
};

BOOST_DATA_TEST_CASE_F(service_fixture, bad_token_queries_get_400, data::make(bad_token_queries),
                       c) {
  expect(400, c.code, "GET", std::string("/api/v1/access-tokens") + c.query, owner);
}

BOOST_AUTO_TEST_CASE(token_list_filters_and_pages) {
  for (const char* name : {"alpha", "beta", "gamma"}) create_token(owner, name, "Personal");
  const std::string dev_id = add_member("dev@example.com");
  create_token(bearer(dev_id), "delta", "Personal");

  auto page = expect(200, "", "GET", "/api/v1/access-tokens?pageIndex=1&pageSize=3", owner);
  BOOST_TEST(page.data()["totalCount"].GetUint64() == 4U);
  BOOST_TEST(page.data()["items"].Size() == 1U);
  auto by_name = expect(200, "", "GET", "/api/v1/access-tokens?name=AMM", owner);
  BOOST_REQUIRE(by_name.data()["items"].Size() == 1U);
  BOOST_TEST(str(by_name.data()["items"][0], "name") == "gamma");
  auto by_creator = expect(200, "", "GET", "/api/v1/access-tokens?creatorId=" + dev_id, owner);
  BOOST_REQUIRE(by_creator.data()["items"].Size() == 1U);
  BOOST_TEST(str(by_creator.data()["items"][0], "name") == "delta");
  auto services = expect(200, "", "GET", "/api/v1/access-tokens?type=Service&type2=x", owner);
  BOOST_TEST(services.data()["totalCount"].GetUint64() == 0U);
  BOOST_TEST(services.data()["items"].Empty());
}

BOOST_AUTO_TEST_CASE(token_names_are_unique) {
  const std::string id = str(create_token(owner, "dup", "Personal").data(), "id");
  create_token(owner, "other", "Personal");
  expect(422, "NameHasBeenUsed", "POST", "/api/v1/access-tokens", owner,
         R"({"name":"DUP","type":"Personal"})");
  expect(422, "NameHasBeenUsed", "PUT", "/api/v1/access-tokens/" + id, owner,
         R"({"name":"other"})");
  expect(400, "name_is_required", "PUT", "/api/v1/access-tokens/" + id, owner, R"({})");
}

// ---- IAM: policies -----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(policies_crud) {
  auto list = expect(200, "", "GET", "/api/v1/policies", owner);
  BOOST_REQUIRE(list.data().IsArray());
  BOOST_TEST(list.data().Size() == 3U);
  for (const auto& p : list.data().GetArray()) BOOST_TEST(str(p, "type") == "SysManaged");

  auto created = expect(201, "", "POST", "/api/v1/policies", owner,
                        R"({"name":"Flag editors","key":"flag-editors","description":"edit"})");
  const std::string id = str(created.data(), "id");
  BOOST_TEST(str(created.data(), "key") == "flag-editors");
  BOOST_TEST(str(created.data(), "name") == "Flag editors");
  BOOST_TEST(str(created.data(), "description") == "edit");
  BOOST_TEST(str(created.data(), "type") == "CustomerManaged");
  BOOST_TEST(created.data()["statements"].Empty());

  auto updated =
      expect(200, "", "PUT", "/api/v1/policies/" + id + "/statements", owner, deny_prod_flags);
  BOOST_TEST(text_of(updated.data()["statements"]) == deny_prod_flags);
  auto got = expect(200, "", "GET", "/api/v1/policies/" + id, owner);
  BOOST_TEST(text_of(got.data()["statements"]) == deny_prod_flags);
  BOOST_TEST(expect(200, "", "GET", "/api/v1/policies", owner).data().Size() == 4U);

  expect(400, "statements_is_invalid", "PUT", "/api/v1/policies/" + id + "/statements", owner,
         R"({"statements":[]})");
  auto bad =
      expect(400, "statements_is_invalid", "PUT", "/api/v1/policies/" + id + "/statements", owner,
             R"([{"id":"x","resourceType":"flag","effect":"maybe","actions":["*"],)"
             R"("resources":["*"]}])");
  BOOST_TEST(has_message(bad));

  BOOST_TEST(expect(200, "", "DELETE", "/api/v1/policies/" + id, owner).data().IsTrue());
  expect(404, "ResourceNotFound", "GET", "/api/v1/policies/" + id, owner);
  expect(404, "ResourceNotFound", "DELETE", "/api/v1/policies/" + id, owner);
}

BOOST_AUTO_TEST_CASE(policy_conflicts_and_built_ins) {
  expect(201, "", "POST", "/api/v1/policies", owner, R"({"name":"A","key":"a"})");
  expect(422, "KeyHasBeenUsed", "POST", "/api/v1/policies", owner, R"({"name":"B","key":"a"})");
  expect(422, "NameHasBeenUsed", "POST", "/api/v1/policies", owner, R"({"name":"a","key":"b"})");
  expect(422, "KeyHasBeenUsed", "POST", "/api/v1/policies", owner,
         R"({"name":"Mine","key":"owner"})");
  expect(400, "key_is_required", "POST", "/api/v1/policies", owner, R"({"name":"C"})");
  expect(400, "key_is_invalid", "POST", "/api/v1/policies", owner, R"({"name":"C","key":"C D"})");
  expect(400, "description_is_invalid", "POST", "/api/v1/policies", owner,
         R"({"name":"C","key":"c","description":1})");
  const std::string builtin = "/api/v1/policies/" + std::string(iam::owner_policy_id);
  expect(422, "CannotModifySysManagedPolicy", "DELETE", builtin, owner);
  expect(422, "CannotModifySysManagedPolicy", "PUT", builtin + "/statements", owner,
         deny_prod_flags);
}

// ---- IAM: groups and members -------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(groups_crud) {
  const std::string member = add_member("dev@example.com");
  auto created =
      expect(201, "", "POST", "/api/v1/groups", owner, R"({"name":"Ops","description":"on call"})");
  const std::string id = str(created.data(), "id");
  BOOST_TEST(str(created.data(), "name") == "Ops");
  BOOST_TEST(str(created.data(), "description") == "on call");
  BOOST_TEST(is_iso_time(created.data()["createdAt"]));
  expect(422, "NameHasBeenUsed", "POST", "/api/v1/groups", owner, R"({"name":"ops"})");
  expect(400, "name_is_required", "POST", "/api/v1/groups", owner, R"({"description":"x"})");

  const std::string base = "/api/v1/groups/" + id;
  const std::string admin(iam::administrator_policy_id);
  auto g = expect(200, "", "PUT", base + "/add-member/" + member, owner);
  BOOST_TEST(text_of(g.data()["memberIds"]) == "[\"" + member + "\"]");
  g = expect(200, "", "PUT", base + "/add-policy/" + admin, owner);
  BOOST_TEST(text_of(g.data()["policyIds"]) == "[\"" + admin + "\"]");
  // Rights through the group take effect for the next request.
  BOOST_TEST(decide(bearer(member), "CanManageIAM", "iam/*").data()["allowed"].GetBool());
  auto effective = expect(200, "", "GET", "/api/v1/members/" + member + "/policies", owner);
  BOOST_TEST(effective.data().Size() == 2U);

  g = expect(200, "", "PUT", base + "/remove-policy/" + admin, owner);
  BOOST_TEST(g.data()["policyIds"].Empty());
  g = expect(200, "", "PUT", base + "/remove-member/" + member, owner);
  BOOST_TEST(g.data()["memberIds"].Empty());
  expect(404, "ResourceNotFound", "PUT", base + "/add-member/" + not_a_token_id, owner);
  expect(404, "ResourceNotFound", "PUT", base + "/add-policy/" + not_a_token_id, owner);

  auto list = expect(200, "", "GET", "/api/v1/groups", owner);
  BOOST_REQUIRE(list.data().Size() == 1U);
  BOOST_TEST(str(list.data()[0], "id") == id);
  BOOST_TEST(expect(200, "", "DELETE", base, owner).data().IsTrue());
  expect(404, "ResourceNotFound", "DELETE", base, owner);
  BOOST_TEST(expect(200, "", "GET", "/api/v1/groups", owner).data().Empty());
}

BOOST_AUTO_TEST_CASE(members_crud) {
  auto list = expect(200, "", "GET", "/api/v1/members", owner);
  BOOST_REQUIRE(list.data().Size() == 1U);
  BOOST_TEST(str(list.data()[0], "email") == "owner@example.com");

  const std::string admin(iam::administrator_policy_id);
  auto added = expect(201, "", "POST", "/api/v1/members/add", owner,
                      R"({"email":"admin@example.com","policyIds":[")" + admin + R"("]})");
  const std::string id = str(added.data(), "id");
  BOOST_TEST(text_of(added.data()["policyIds"]) == "[\"" + admin + "\"]");
  BOOST_TEST(is_iso_time(added.data()["createdAt"]));
  expect(409, "Conflict", "POST", "/api/v1/members/add", owner, R"({"email":"ADMIN@example.com"})");
  expect(400, "email_is_required", "POST", "/api/v1/members/add", owner, R"({"policyIds":[]})");
  expect(400, "email_is_invalid", "POST", "/api/v1/members/add", owner, R"({"email":"nobody"})");
  expect(400, "policyIds_is_invalid", "POST", "/api/v1/members/add", owner,
         R"({"email":"x@example.com","policyIds":"all"})");
  expect(400, "policyIds_is_invalid", "POST", "/api/v1/members/add", owner,
         R"({"email":"x@example.com","policyIds":[")" + not_a_token_id + R"("]})");
  expect(400, "groupIds_is_invalid", "POST", "/api/v1/members/add", owner,
         R"({"email":"x@example.com","groupIds":[1]})");

  const std::string dev(iam::developer_policy_id);
  auto m = expect(200, "", "PUT", "/api/v1/members/" + id + "/add-policy/" + dev, owner);
  BOOST_TEST(m.data()["policyIds"].Size() == 2U);
  m = expect(200, "", "PUT", "/api/v1/members/" + id + "/remove-policy/" + admin, owner);
  BOOST_TEST(text_of(m.data()["policyIds"]) == "[\"" + dev + "\"]");
  auto policies = expect(200, "", "GET", "/api/v1/members/" + id + "/policies", owner);
  BOOST_REQUIRE(policies.data().Size() == 1U);
  BOOST_TEST(str(policies.data()[0], "key") == "developer");
  BOOST_TEST(policies.data()[0]["statements"].Size() > 0U);

  // The member's own view needs no IAM right.
  auto own = expect(200, "", "GET", "/api/v1/user/policies", bearer(id));
  BOOST_REQUIRE(own.data().Size() == 1U);
  BOOST_TEST(str(own.data()[0], "id") == dev);

  expect(404, "ResourceNotFound", "PUT", "/api/v1/members/" + id + "/add-policy/" + not_a_token_id,
         owner);
  expect(404, "ResourceNotFound", "GET", "/api/v1/members/" + not_a_token_id + "/policies", owner);
  expect(200, "", "DELETE", "/api/v1/members/remove-from-org/" + id, owner);
  expect(404, "ResourceNotFound", "DELETE", "/api/v1/members/remove-from-org/" + id, owner);
  BOOST_TEST(expect(200, "", "GET", "/api/v1/members", owner).data().Size() == 1U);
}

BOOST_AUTO_TEST_CASE(iam_routes_need_can_manage_iam) {
  const std::string dev_id = add_member("dev@example.com");
  const std::string dev = bearer(dev_id);
  const std::string group =
      str(expect(201, "", "POST", "/api/v1/groups", owner, R"({"name":"g"})").data(), "id");
  const std::string policy = create_policy("p", deny_prod_flags);
  const std::vector<std::array<std::string, 3>> requests = {
      {"GET", "/api/v1/policies", ""},
      {"GET", "/api/v1/policies/" + policy, ""},
      {"POST", "/api/v1/policies", R"({"name":"x","key":"x"})"},
      {"PUT", "/api/v1/policies/" + policy + "/statements", "[]"},
      {"DELETE", "/api/v1/policies/" + policy, ""},
      {"GET", "/api/v1/groups", ""},
      {"POST", "/api/v1/groups", R"({"name":"h"})"},
      {"PUT", "/api/v1/groups/" + group + "/add-member/" + dev_id, ""},
      {"PUT", "/api/v1/groups/" + group + "/add-policy/" + policy, ""},
      {"DELETE", "/api/v1/groups/" + group, ""},
      {"GET", "/api/v1/members", ""},
      {"POST", "/api/v1/members/add", R"({"email":"y@example.com"})"},
      {"PUT", "/api/v1/members/" + dev_id + "/add-policy/" + std::string(iam::owner_policy_id), ""},
      {"GET", "/api/v1/members/" + owner_id + "/policies", ""},
      {"DELETE", "/api/v1/members/remove-from-org/" + owner_id, ""},
  };
  for (const auto& [method, target, body] : requests) {
    auto a = expect(403, "Forbidden", method, target, dev, body);
    BOOST_TEST(a.data().IsNull());
  }
  // Nothing changed.
  BOOST_TEST(expect(200, "", "GET", "/api/v1/members", owner).data().Size() == 2U);
  BOOST_TEST(!decide(dev, "CanManageIAM", "iam/*").data()["allowed"].GetBool());
}

// ---- Limits and failures of the IAM service ----------------------------------------------

BOOST_AUTO_TEST_CASE(statement_limits_answer_400_naming_the_field) {
  const std::string id = str(
      expect(201, "", "POST", "/api/v1/policies", owner, R"({"name":"big","key":"big"})").data(),
      "id");
  // One statement more than a stored policy may hold (SPEC §10).
  std::string statements = "[";
  for (int i = 0; i <= 1000; ++i) {
    if (i > 0) statements += ',';
    statements += R"({"id":"s)" + std::to_string(i) +
                  R"(","resourceType":"flag","effect":"allow","actions":["ToggleFlag"],)"
                  R"("resources":["project/*"]})";
  }
  statements += ']';
  auto a = expect(400, "statements_is_invalid", "PUT", "/api/v1/policies/" + id + "/statements",
                  owner, statements);
  BOOST_TEST(has_message(a));
  BOOST_TEST(str(a.data(), "message").find("at most 1000") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(store_failures_answer_500_and_change_nothing, scripted_store_fixture) {
  *store_mode = scripted_store::mode::fail;
  auto a = expect(500, "InternalServerError", "POST", "/api/v1/groups", owner, R"({"name":"g"})");
  // The store's own message names internals; the caller learns nothing of it.
  BOOST_TEST(a.raw.body == R"({"success":false,"errors":["InternalServerError"],"data":null})");
  *store_mode = scripted_store::mode::succeed;
  BOOST_TEST(expect(200, "", "GET", "/api/v1/groups", owner).data().Empty());
}

// A shared store that cannot be reached (SPEC §12): a write answers 503, worth a retry, and
// changes nothing; decisions go on from memory.
BOOST_FIXTURE_TEST_CASE(an_unreachable_store_answers_writes_503, scripted_store_fixture) {
  *store_mode = scripted_store::mode::unreachable;
  auto a = expect(503, "StoreUnavailable", "POST", "/api/v1/groups", owner, R"({"name":"g"})");
  BOOST_TEST(a.raw.body == R"({"success":false,"errors":["StoreUnavailable"],"data":null})");
  expect(503, "StoreUnavailable", "POST", "/api/v1/access-tokens", owner,
         R"({"name":"t","type":"Personal"})");
  BOOST_TEST(decide(owner, "ToggleFlag", flag).data()["allowed"].GetBool());
  *store_mode = scripted_store::mode::succeed;
  BOOST_TEST(expect(200, "", "GET", "/api/v1/groups", owner).data().Empty());
  BOOST_TEST(
      expect(200, "", "GET", "/api/v1/access-tokens", owner).data()["totalCount"].GetUint64() ==
      0U);
  expect(201, "", "POST", "/api/v1/groups", owner, R"({"name":"g"})");
}

BOOST_FIXTURE_TEST_CASE(exceptions_answer_500_with_the_envelope, scripted_store_fixture) {
  *store_mode = scripted_store::mode::throw_exception;
  auto a = expect(500, "InternalServerError", "POST", "/api/v1/groups", owner, R"({"name":"g"})");
  BOOST_TEST(a.raw.body == R"({"success":false,"errors":["InternalServerError"],"data":null})");
  // The caller was known before the failure: the access log still names it.
  BOOST_TEST(a.raw.subject == "member:" + owner_id);
  *store_mode = scripted_store::mode::succeed;
  expect(201, "", "POST", "/api/v1/groups", owner, R"({"name":"g"})");
}

BOOST_AUTO_TEST_SUITE_END()
