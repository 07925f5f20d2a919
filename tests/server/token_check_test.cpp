// The routes the console's token panel leans on: the actions a member could give a service
// token (GET user/grantable), the capping check without creating (POST access-tokens/check),
// the creator shown with each token, and the cap on costly checks running at once.
#include "service_fixture.hpp"

#include "costly_calls.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <string>
#include <vector>

using namespace gatehouse;
using namespace gatehouse::testing;

namespace {

std::vector<std::string> actions_of(const rapidjson::Value& grantable, const char* type) {
  std::vector<std::string> out;
  if (!grantable.HasMember(type)) return out;
  for (const auto& a : grantable[type].GetArray()) out.emplace_back(a.GetString());
  return out;
}

bool has(const std::vector<std::string>& xs, const std::string& x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

const std::string toggle_web_flags =
    R"([{"id":"s","resourceType":"flag","effect":"allow","actions":["ToggleFlag"],)"
    R"("resources":["project/web:env/*:flag/*"]}])";
const std::string toggle_any_flag =
    R"([{"id":"s","resourceType":"flag","effect":"allow","actions":["ToggleFlag"],)"
    R"("resources":["project/*:env/*:flag/*"]}])";

}  // namespace

BOOST_FIXTURE_TEST_SUITE(token_check_tests, service_fixture)

BOOST_AUTO_TEST_CASE(grantable_lists_what_the_member_holds_somewhere_by_type) {
  const auto owner_can = expect(200, "", "GET", "/api/v1/user/grantable", owner);
  BOOST_TEST(actions_of(owner_can.data(), "flag").size() == 15U);
  BOOST_TEST(has(actions_of(owner_can.data(), "iam"), "CanManageIAM"));

  // Allowed on web, denied everywhere for DeleteFlag, and UpdateFlagName allowed then denied on
  // the very same names: only ToggleFlag is held somewhere.
  const std::string policy = create_policy("mixed", R"([
    {"id":"a","resourceType":"flag","effect":"allow",
     "actions":["ToggleFlag","DeleteFlag","UpdateFlagName"],"resources":["project/web:env/*:flag/*"]},
    {"id":"d","resourceType":"flag","effect":"deny","actions":["DeleteFlag"],"resources":["*"]},
    {"id":"n","resourceType":"flag","effect":"deny","actions":["UpdateFlagName"],
     "resources":["project/web"]}])");
  const std::string member = add_member("mixed@example.com", R"([")" + policy + R"("])");
  const auto a = expect(200, "", "GET", "/api/v1/user/grantable", bearer(member));
  BOOST_TEST(actions_of(a.data(), "flag") == std::vector<std::string>{"ToggleFlag"});
  BOOST_TEST(a.data().MemberCount() == 1U);
}

BOOST_AUTO_TEST_CASE(grantable_is_for_members_only) {
  const auto token = create_token(owner, "t", "Personal");
  expect(403, "Forbidden", "GET", "/api/v1/user/grantable", str(token.data(), "token"));
}

BOOST_AUTO_TEST_CASE(check_answers_as_creating_would_without_creating) {
  const std::string policy = create_policy("web", R"([
    {"id":"a","resourceType":"flag","effect":"allow","actions":["ToggleFlag"],
     "resources":["project/web:env/*:flag/*"]},
    {"id":"t","resourceType":"access-token","effect":"allow",
     "actions":["ListAccessTokens","ManageServiceAccessTokens"],"resources":["access-token/*"]}])");
  const std::string member = bearer(add_member("web@example.com", R"([")" + policy + R"("])"));

  auto inside = expect(200, "", "POST", "/api/v1/access-tokens/check", member,
                       R"({"type":"Service","permissions":)" + toggle_web_flags + "}");
  BOOST_TEST(inside.data()["contained"].GetBool());
  BOOST_TEST(inside.data()["counterexample"].IsNull());

  auto beyond = expect(200, "", "POST", "/api/v1/access-tokens/check", member,
                       R"({"type":"Service","permissions":)" + toggle_any_flag + "}");
  BOOST_TEST(!beyond.data()["contained"].GetBool());
  const auto& ce = beyond.data()["counterexample"];
  BOOST_TEST(str(ce, "action") == "ToggleFlag");
  const std::string resource = str(ce, "resource");
  BOOST_TEST(!resource.starts_with("project/web:"));
  // The counterexample is one the member is refused and the token would be allowed.
  BOOST_TEST(!expect(200, "", "POST", "/api/v1/decisions", member,
                     R"({"action":"ToggleFlag","resource":")" + resource + R"("})")
                  .data()["allowed"]
                  .GetBool());
  // Creating agrees, and nothing was created by the checks.
  expect(403, "Forbidden", "POST", "/api/v1/access-tokens", member,
         R"({"name":"wide","type":"Service","permissions":)" + toggle_any_flag + "}");
  BOOST_TEST(
      expect(200, "", "GET", "/api/v1/access-tokens", member).data()["totalCount"].GetUint64() ==
      0U);
}

BOOST_AUTO_TEST_CASE(check_needs_the_manage_action_of_its_type) {
  const std::string policy = create_policy("personal-only", R"([
    {"id":"t","resourceType":"access-token","effect":"allow",
     "actions":["ManagePersonalAccessTokens"],"resources":["access-token/*"]}])");
  const std::string member = bearer(add_member("p@example.com", R"([")" + policy + R"("])"));
  expect(403, "Forbidden", "POST", "/api/v1/access-tokens/check", member,
         R"({"type":"Service","permissions":)" + toggle_web_flags + "}");
  const auto personal = expect(200, "", "POST", "/api/v1/access-tokens/check", member,
                               R"({"type":"Personal","permissions":[]})");
  BOOST_TEST(personal.data()["contained"].GetBool());
  // The body is checked as creating checks it.
  expect(400, "type_is_invalid", "POST", "/api/v1/access-tokens/check", owner,
         R"({"type":"Robot","permissions":[]})");
  expect(400, "permissions_is_required", "POST", "/api/v1/access-tokens/check", owner,
         R"({"type":"Service","permissions":[]})");
  const auto token = create_token(owner, "t", "Personal");
  expect(403, "Forbidden", "POST", "/api/v1/access-tokens/check", str(token.data(), "token"),
         R"({"type":"Personal","permissions":[]})");
}

BOOST_AUTO_TEST_CASE(tokens_name_their_creator) {
  const std::string dev = add_member("dev@example.com");
  const auto made = create_token(bearer(dev), "devs", "Personal");
  BOOST_TEST(str(made.data()["creator"], "id") == dev);
  BOOST_TEST(str(made.data()["creator"], "email") == "dev@example.com");
  create_token(bearer(dev), "svc", "Service", toggle_any_flag);
  const auto before = expect(200, "", "GET", "/api/v1/access-tokens?type=Service", owner);
  BOOST_TEST(str(before.data()["items"][0]["creator"], "email") == "dev@example.com");
  // A service token outlives its creator, whose address is then no longer shown.
  expect(200, "", "DELETE", "/api/v1/members/remove-from-org/" + dev, owner);
  const auto after = expect(200, "", "GET", "/api/v1/access-tokens?type=Service", owner);
  const auto& creator = after.data()["items"][0]["creator"];
  BOOST_TEST(str(creator, "id") == dev);
  BOOST_TEST(creator["email"].IsNull());
}

BOOST_AUTO_TEST_CASE(at_most_two_costly_checks_per_caller_at_once) {
  server::costly_calls calls;
  auto first = calls.enter("member:a");
  auto second = calls.enter("member:a");
  BOOST_TEST(first.has_value());
  BOOST_TEST(second.has_value());
  BOOST_TEST(!calls.enter("member:a").has_value());
  // Another caller is not held back by the first.
  BOOST_TEST(calls.enter("member:b").has_value());
  second.reset();
  auto third = calls.enter("member:a");
  BOOST_TEST(third.has_value());
  BOOST_TEST(!calls.enter("member:a").has_value());
  first.reset();
  third.reset();
  BOOST_TEST(calls.enter("member:a").has_value());
}

BOOST_AUTO_TEST_SUITE_END()
