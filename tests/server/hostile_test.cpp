// SPEC §10 through the HTTP request handler: the hostile requests that once crashed or stalled
// the server, the member limits, owners that cannot vanish, capped grants and token counts;
// /healthz must answer after each. The size limits are in hostile_limits_test.cpp.
#include <gatehouse/server/http_service.hpp>

#include <gatehouse/engine/reference.hpp>
#include <gatehouse/policy/limits.hpp>
#include <gatehouse/store/database.hpp>

#include <algorithm>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <functional>
#include <map>
#include <ostream>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "hostile_fixture.hpp"

namespace {

using namespace gatehouse;
using namespace gatehouse::testing;
namespace data = boost::unit_test::data;

/// A store that starts with what a database edited by hand holds, and keeps nothing more.
class preloaded_store final : public store::database {
 public:
  explicit preloaded_store(store::stored_state state) : state_(std::move(state)) {}

  boost::system::result<store::stored_state> load(
      const std::function<void(store::token_record&&)>& /*on_token*/) override {
    return state_;
  }
  boost::system::error_code commit(std::span<const store::change> /*changes*/) override {
    return {};
  }

 private:
  store::stored_state state_;
};

/// An organization whose stored policy holds statements today's validator refuses: a deny with a
/// 2,000-byte pattern and an allow with 17 segments, beside one that is fine.
store::stored_state hand_edited_organization() {
  const std::string statements_json = list(
      {statement("long-deny", "flag", "deny", {"ToggleFlag"}, {pattern_of_bytes(2000)}),
       statement("deep-allow", "project", "allow", {"DeleteProject"}, {pattern_of_segments(17)}),
       statement("fine-deny", "flag", "deny", {"ArchiveFlag"}, {"project/*:env/prod:flag/*"})});
  store::stored_state s;
  s.organizations.push_back({"legacy-org", "legacy", {developer_policy}, 1});
  s.members.push_back({"legacy-owner", "legacy-org", "owner@legacy.example", {owner_policy}, 1});
  s.members.push_back(
      {"legacy-dev", "legacy-org", "dev@legacy.example", {developer_policy, "legacy-policy"}, 2});
  s.policies.push_back(
      {"legacy-policy", "legacy-org", "legacy", "Legacy", "", statements_json, 1, 1});
  return s;
}

struct hand_edited_fixture : hostile_fixture {
  hand_edited_fixture()
      : hostile_fixture(std::make_unique<preloaded_store>(hand_edited_organization())) {}
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(hostile_tests, hostile_fixture)
// ---- The numbered cases of the issue ------------------------------------------------------

// (1) A member whose rights include a deny asks for a service token whose one pattern is 800,000
// bytes: refused as too large, without a crash and without echoing it. Cut to exactly 1,024
// bytes, the same shape is within the limits, and the containment check finds what the deny
// takes away.
BOOST_AUTO_TEST_CASE(an_800000_byte_pattern_is_refused_and_its_1024_byte_cut_is_capped) {
  const std::string no_prod_deletes = create_policy(
      "no-prod-deletes", list({statement("no-prod-deletes", "flag", "deny", {"DeleteFlag"},
                                         {"project/*:env/prod:flag/*"})}));
  const std::string member = bearer(
      add_member("dev@example.com", list({quoted(developer_policy), quoted(no_prod_deletes)})));
  const auto shaped = [](std::size_t as) {
    return "project/*" + std::string(as, 'A') + ":env/*:flag/*";
  };
  const auto asking = [&](const std::string& pattern) {
    return list({statement("s", "flag", "allow", {"DeleteFlag"}, {pattern})});
  };

  auto huge = try_token(member, "huge", asking(shaped(800'000)), 400, permissions_invalid);
  expect_message(huge, "larger than 64 KiB");
  expect_healthy();

  const std::string cut = shaped(1002);
  BOOST_REQUIRE_EQUAL(cut.size(), policy::max_pattern_bytes);
  auto capped = try_token(member, "cut", asking(cut), 403, "Forbidden");
  const auto& ce = capped.data()["counterexample"];
  BOOST_TEST(str(ce, "action") == "DeleteFlag");
  const std::string resource = str(ce, "resource");
  BOOST_TEST(engine::reference::matches(resource, cut), resource);
  BOOST_TEST(decision_of(member, "DeleteFlag", resource) == "explicit_deny");
  expect_healthy();

  try_token(member, "over", asking(shaped(1003)), 400, permissions_invalid);
  // Nothing was stored.
  BOOST_TEST(
      expect(200, "", "GET", "/api/v1/access-tokens", owner).data()["totalCount"].GetUint64() ==
      0U);
  expect_healthy();
}

// (2) A token pattern of a star and 1,011 literal bytes, decided against names of up to 4,096
// bytes: answered, allowed exactly where it matches; a longer name is a 400.
BOOST_AUTO_TEST_CASE(a_long_literal_tail_against_a_long_name_is_decided) {
  const std::string pattern = "project/*" + std::string(1010, 'A') + "B";
  const std::string secret =
      str(try_token(owner, "tail", toggle_on({pattern}), 201, "").data(), "token");
  const auto d = decide(secret, "ToggleFlag", "project/" + std::string(4000, 'A'));
  BOOST_TEST(str(d.data(), "decision") == "implicit_deny");
  expect_healthy();
  const std::string longest = "project/" + std::string(4087, 'A') + "B";
  BOOST_REQUIRE_EQUAL(longest.size(), policy::max_request_resource_bytes);
  BOOST_TEST(decision_of(secret, "ToggleFlag", longest) == "allow");
  auto over = expect(400, resource_invalid, "POST", "/api/v1/decisions", secret,
                     R"({"action":"ToggleFlag","resource":")" + name_of_bytes(4097) + R"("})");
  expect_message(over, "longer than 4096 bytes");
  expect_healthy();
}

// (3) A 17-segment pattern cannot be written into a policy, so no one can ever hold it: the
// policy keeps what it had, attaching it grants nothing new, and the owner keeps every right.
BOOST_AUTO_TEST_CASE(a_17_segment_pattern_never_reaches_a_policy) {
  const std::string id = new_policy("deep");
  expect(200, "", "PUT", "/api/v1/members/" + owner_id + "/add-policy/" + id, owner);
  const std::string deep = pattern_of_segments(17);
  const std::string body = list({statement("deep", "project", "deny", {"*"}, {deep})});
  auto refused =
      expect(400, statements_invalid, "PUT", "/api/v1/policies/" + id + "/statements", owner, body);
  expect_message(refused, "has 17 segments; a pattern may have at most 16");
  expect_healthy();
  BOOST_TEST(
      text_of(expect(200, "", "GET", "/api/v1/policies/" + id, owner).data()["statements"]) ==
      "[]");

  const std::string dev_id = add_member("dev@example.com");
  expect(200, "", "PUT", "/api/v1/members/" + dev_id + "/add-policy/" + id, owner);
  BOOST_TEST(allowed(bearer(dev_id), "ToggleFlag", flag));
  for (const auto& [action, resource] :
       std::vector<std::pair<std::string, std::string>>{{"CanManageIAM", "iam/*"},
                                                        {"DeleteProject", "project/web"},
                                                        {"ToggleFlag", flag},
                                                        {"DeleteFlag", deep},
                                                        {"UpdateOrgName", "organization/acme"}}) {
    BOOST_TEST(allowed(owner, action, resource), action << " on " << resource);
  }
  // At 16 segments the same deny is stored and denies exactly what it names.
  const std::string sixteen = pattern_of_segments(16);
  expect(200, "", "PUT", "/api/v1/policies/" + id + "/statements", owner,
         list({statement("deep", "project", "deny", {"*"}, {sixteen})}));
  BOOST_TEST(decision_of(owner, "DeleteFlag", sixteen) == "explicit_deny");
  BOOST_TEST(allowed(owner, "DeleteFlag", flag));
  BOOST_TEST(allowed(owner, "CanManageIAM", "iam/*"));
  expect_healthy();
}

// (4) The owner switches off a service token; a Developer, who may manage service tokens but
// does not hold what this one allows, cannot switch it back on.
BOOST_AUTO_TEST_CASE(a_developer_cannot_switch_the_owners_token_back_on) {
  const std::string statements_json =
      list({statement("s", "project", "allow", {"DeleteProject"}, {"project/*"})});
  const auto created = try_token(owner, "deployer", statements_json, 201, "");
  const std::string id = str(created.data(), "id");
  const std::string secret = str(created.data(), "token");
  const std::string dev = bearer(add_member("dev@example.com"));
  expect(200, "", "PUT", "/api/v1/access-tokens/" + id + "/toggle", owner);

  auto refused = expect(403, "Forbidden", "PUT", "/api/v1/access-tokens/" + id + "/toggle", dev);
  const auto& ce = refused.data()["counterexample"];
  BOOST_TEST(str(ce, "action") == "DeleteProject");
  BOOST_TEST(engine::reference::matches(str(ce, "resource"), "project/*"));
  BOOST_TEST(!allowed(dev, "DeleteProject", str(ce, "resource")));
  // Still off.
  expect(403, "Forbidden", "POST", "/api/v1/decisions", secret,
         R"({"action":"DeleteProject","resource":"project/web"})");
  expect_healthy();
  // The owner may.
  auto on = expect(200, "", "PUT", "/api/v1/access-tokens/" + id + "/toggle", owner);
  BOOST_TEST(str(on.data(), "status") == "Active");
  BOOST_TEST(allowed(secret, "DeleteProject", "project/web"));
}

// ---- Relatives of the issue's cases -------------------------------------------------------------

struct glob_case {
  const char* name;
  std::string (*pattern)();
  std::string (*resource)();
  const char* decision;
};
std::ostream& operator<<(std::ostream& os, const glob_case& c) { return os << c.name; }

/// `times` repetitions of `piece` after `project/`.
std::string repeated(const std::string& piece, int times) {
  std::string s = "project/";
  for (int i = 0; i < times; ++i) s += piece;
  return s;
}
std::string many_single_stars() { return repeated("*A", 507); }
std::string many_double_stars() { return repeated("*AA", 338); }
std::string a_run_then_b() { return "project/" + std::string(4087, 'A') + "B"; }

/// 16 tag globs of many stars, each wanting a B after 30 As: 1,017 bytes.
std::string many_star_tags() {
  std::string tag;
  for (int i = 0; i < 30; ++i) tag += "*A";
  tag += "*B";
  std::string p = "project/*;";
  for (int i = 0; i < 16; ++i) p += (i > 0 ? "," : "") + tag;
  return p;
}
/// A name with 100 tags of 39 As, the last one ending in B when `b`: 4,010 bytes.
std::string many_tags_of_as(bool b) {
  std::string name = "project/x;";
  for (int i = 0; i < 100; ++i) {
    if (i > 0) name += ',';
    name += std::string(39, 'A');
  }
  if (b) name.back() = 'B';
  return name;
}

// Globs of many stars against a long run (or many tags) of the letter they look for: a backtracking
// matcher takes exponential time on these; each must be answered, and answered right.
const glob_case glob_cases[] = {
    {"star_a_507_times_then_star", [] { return many_single_stars() + "*"; }, a_run_then_b, "allow"},
    {"star_a_507_times_then_c", [] { return many_single_stars() + "*C"; }, a_run_then_b,
     "implicit_deny"},
    {"star_aa_338_times_then_star", [] { return many_double_stars() + "*"; }, a_run_then_b,
     "allow"},
    {"star_aa_338_times_then_c", [] { return many_double_stars() + "*C"; }, a_run_then_b,
     "implicit_deny"},
    {"star_a_507_times_then_star_too_few_as", [] { return many_single_stars() + "*"; },
     [] { return "project/" + std::string(506, 'A') + "B"; }, "implicit_deny"},
    {"16_star_tags_against_100_tags_without_b", many_star_tags,
     [] { return many_tags_of_as(false); }, "implicit_deny"},
    {"16_star_tags_against_100_tags_one_with_b", many_star_tags,
     [] { return many_tags_of_as(true); }, "allow"},
};

BOOST_DATA_TEST_CASE_F(hostile_fixture, many_stars_against_long_names, data::make(glob_cases), c) {
  const std::string pattern = c.pattern();
  BOOST_REQUIRE_LE(pattern.size(), policy::max_pattern_bytes);
  const std::string secret =
      str(try_token(owner, "stars", toggle_on({pattern}), 201, "").data(), "token");
  BOOST_TEST(decision_of(secret, "ToggleFlag", c.resource()) == c.decision);
  expect_healthy();
}

BOOST_AUTO_TEST_CASE(a_policy_edit_that_would_leave_no_owner_is_refused) {
  const std::string held = create_policy("held", toggle_on({"project/*:env/*:flag/*"}));
  expect(200, "", "PUT", "/api/v1/members/" + owner_id + "/add-policy/" + held, owner);
  const std::string no_iam =
      list({statement("no-iam", "iam", "deny", {"CanManageIAM"}, {"iam/*"})});
  auto refused =
      expect(422, "LastOwner", "PUT", "/api/v1/policies/" + held + "/statements", owner, no_iam);
  BOOST_TEST(has_message(refused));
  BOOST_TEST(
      text_of(expect(200, "", "GET", "/api/v1/policies/" + held, owner).data()["statements"]) ==
      toggle_on({"project/*:env/*:flag/*"}));
  expect(422, "LastOwner", "DELETE", "/api/v1/members/remove-from-org/" + owner_id, owner);
  expect(422, "LastOwner", "PUT", "/api/v1/members/" + owner_id + "/remove-policy/" + owner_policy,
         owner);
  BOOST_TEST(allowed(owner, "CanManageIAM", "iam/*"));
  expect_healthy();

  // With a second owner the same edit goes through, and takes the first's IAM right away.
  const std::string second = add_member("second@example.com", list({quoted(owner_policy)}));
  expect(200, "", "PUT", "/api/v1/policies/" + held + "/statements", owner, no_iam);
  BOOST_TEST(!allowed(owner, "CanManageIAM", "iam/*"));
  BOOST_TEST(allowed(bearer(second), "CanManageIAM", "iam/*"));
  expect(422, "LastOwner", "DELETE", "/api/v1/members/remove-from-org/" + second, bearer(second));
}

// A member holds at most 10,000 effective statements, through any route.
BOOST_AUTO_TEST_CASE(a_member_holds_at_most_10000_statements) {
  const std::string thousand = statements(1000);
  std::vector<std::string> policies;
  for (int i = 0; i < 10; ++i) {
    policies.push_back(create_policy("k" + std::to_string(i), thousand));
  }
  const std::string one_more = create_policy("one-more", statements(1));
  const std::string member = add_member("big@example.com", list({quoted(policies[0])}));
  for (std::size_t i = 1; i < policies.size(); ++i) {
    expect(200, "", "PUT", "/api/v1/members/" + member + "/add-policy/" + policies[i], owner);
  }
  BOOST_TEST(allowed(bearer(member), "ToggleFlag", "project/p999:env/x:flag/y"));
  auto over = expect(422, "TooManyStatements", "PUT",
                     "/api/v1/members/" + member + "/add-policy/" + one_more, owner);
  BOOST_TEST(has_message(over));
  // Through a group, too.
  const std::string group = new_group("one-more");
  expect(200, "", "PUT", "/api/v1/groups/" + group + "/add-policy/" + one_more, owner);
  expect(422, "TooManyStatements", "PUT", "/api/v1/groups/" + group + "/add-member/" + member,
         owner);
  // And by growing a policy the member holds.
  const std::string grow = new_policy("grow");
  expect(200, "", "PUT", "/api/v1/members/" + member + "/add-policy/" + grow, owner);
  expect(422, "TooManyStatements", "PUT", "/api/v1/policies/" + grow + "/statements", owner,
         statements(1));
  BOOST_TEST(
      text_of(expect(200, "", "GET", "/api/v1/policies/" + grow, owner).data()["statements"]) ==
      "[]");
  BOOST_TEST(
      expect(200, "", "GET", "/api/v1/members/" + member + "/policies", owner).data().Size() ==
      11U);
  expect_healthy();
}

// A member holds at most policy::max_effective_scanning_globs globs that scan a name.
BOOST_AUTO_TEST_CASE(a_member_holds_at_most_the_scanning_glob_limit) {
  constexpr std::size_t limit = policy::max_effective_scanning_globs;
  static_assert(limit <= policy::max_policy_scanning_globs, "one policy can fill a member");
  const std::string full = create_policy("full", statements_scanning(limit));
  const std::string one = create_policy("one", statements_scanning(1));
  const std::string member = add_member("scan@example.com", list({quoted(full)}));
  BOOST_TEST(allowed(bearer(member), "ToggleFlag", "project/xs" + std::to_string(limit - 1) + "y"));
  expect(422, "TooManyStatements", "PUT", "/api/v1/members/" + member + "/add-policy/" + one,
         owner);
  expect(422, "TooManyStatements", "POST", "/api/v1/members/add", owner,
         R"({"email":"both@example.com","policyIds":[")" + full + R"(",")" + one + R"("]})");
  const std::string grow = new_policy("grow");
  expect(200, "", "PUT", "/api/v1/members/" + member + "/add-policy/" + grow, owner);
  expect(422, "TooManyStatements", "PUT", "/api/v1/policies/" + grow + "/statements", owner,
         statements_scanning(1));
  // Globs that do not scan cost their own length and are not counted.
  expect(200, "", "PUT", "/api/v1/policies/" + grow + "/statements", owner,
         toggle_on({"project/*-beta", "project/web*", "project/*:env/*:flag/*;beta*"}));
  expect_healthy();
}

// Nobody grants what they do not hold: an Administrator hands out Administrator, not Owner.
BOOST_AUTO_TEST_CASE(an_administrator_cannot_make_an_owner) {
  const std::string admin_id = add_member("admin@example.com", list({quoted(admin_policy)}));
  const std::string admin = bearer(admin_id);
  const std::string dev_id = add_member("dev@example.com");
  auto refused = expect(403, "Forbidden", "PUT",
                        "/api/v1/members/" + dev_id + "/add-policy/" + owner_policy, admin);
  // Asked of the engine: the counterexample may be a name the decision route refuses, such as
  // the empty one, which Owner's `resourceType "*"` allows as well.
  const auto& ce = refused.data()["counterexample"];
  const auto as_admin = iam->authenticate_member(admin_id, organization);
  const auto as_owner = iam->authenticate_member(owner_id, organization);
  BOOST_REQUIRE(as_admin.has_value() && as_owner.has_value());
  BOOST_TEST((iam->decide_only(*as_admin, str(ce, "action"), str(ce, "resource")) !=
              engine::decision::allow));
  BOOST_TEST((iam->decide_only(*as_owner, str(ce, "action"), str(ce, "resource")) ==
              engine::decision::allow));
  expect(403, "Forbidden", "POST", "/api/v1/members/add", admin,
         R"({"email":"o2@example.com","policyIds":[")" + owner_policy + R"("]})");
  expect(200, "", "PUT", "/api/v1/members/" + dev_id + "/add-policy/" + admin_policy, admin);
  // A leaked service token that may manage IAM cannot make anyone an owner either.
  const std::string bot =
      str(try_token(owner, "iam-bot",
                    list({statement("iam", "iam", "allow", {"CanManageIAM"}, {"iam/*"})}), 201, "")
              .data(),
          "token");
  auto by_token = expect(403, "Forbidden", "PUT",
                         "/api/v1/members/" + dev_id + "/add-policy/" + owner_policy, bot);
  BOOST_TEST(by_token.data()["counterexample"].IsObject());
  expect_healthy();
}

// A token asking for its own policies sees its own rights, never its creator's as if it were them.
BOOST_AUTO_TEST_CASE(tokens_see_their_own_policies) {
  const std::string statements_json = toggle_on({"project/web:env/*:flag/*"});
  const std::string service_secret =
      str(try_token(owner, "svc", statements_json, 201, "").data(), "token");
  auto own = expect(200, "", "GET", "/api/v1/user/policies", service_secret);
  BOOST_REQUIRE(own.data().Size() == 1U);
  BOOST_TEST(str(own.data()[0], "id") == "access-token");
  BOOST_TEST(str(own.data()[0], "type") == "AccessToken");
  BOOST_TEST(text_of(own.data()[0]["statements"]) == statements_json);

  const std::string personal =
      str(create_token(owner, "scoped", "Personal", statements_json).data(), "token");
  own = expect(200, "", "GET", "/api/v1/user/policies", personal);
  BOOST_REQUIRE(own.data().Size() == 2U);
  BOOST_TEST(str(own.data()[0], "id") == "access-token");
  BOOST_TEST(str(own.data()[1], "id") == owner_policy);
}

// /metrics counts tokens by state from counters kept on every change; they must equal the list.
BOOST_AUTO_TEST_CASE(metrics_count_tokens_as_they_are) {
  const auto metric = [&](const std::string& state) {
    const std::string text = call("GET", "/metrics", "").raw.body;
    const std::string name = "gatehouse_access_tokens{state=\"" + state + "\"} ";
    const auto at = text.find(name);
    BOOST_REQUIRE(at != std::string::npos);
    return std::strtoull(text.c_str() + at + name.size(), nullptr, 10);
  };
  const auto check = [&](unsigned long long active, unsigned long long inactive,
                         unsigned long long revoked, const char* after) {
    auto listed = expect(200, "", "GET", "/api/v1/access-tokens?pageSize=100", owner);
    std::map<std::string, unsigned long long> truth;
    for (const auto& t : listed.data()["items"].GetArray()) ++truth[str(t, "status")];
    BOOST_TEST(truth["Active"] == active, after);
    BOOST_TEST(truth["Inactive"] == inactive, after);
    BOOST_TEST(truth["Revoked"] == revoked, after);
    BOOST_TEST(metric("active") == active, after);
    BOOST_TEST(metric("inactive") == inactive, after);
    BOOST_TEST(metric("revoked") == revoked, after);
  };
  std::vector<std::string> ids;
  for (const char* name : {"a", "b", "c"}) {
    ids.push_back(str(create_token(owner, name, "Personal").data(), "id"));
  }
  const std::string dev_id = add_member("dev@example.com");
  const std::string dev = bearer(dev_id);
  const std::string dev_personal = str(create_token(dev, "d", "Personal").data(), "id");
  create_token(dev, "e", "Personal");
  create_token(dev, "f", "Service", toggle_on({"project/*:env/*:flag/*"}));
  check(6, 0, 0, "creates");
  expect(200, "", "PUT", "/api/v1/access-tokens/" + ids[0] + "/toggle", owner);
  expect(200, "", "PUT", "/api/v1/access-tokens/" + dev_personal + "/toggle", dev);
  check(4, 2, 0, "toggles");
  expect(200, "", "DELETE", "/api/v1/access-tokens/" + ids[1], owner);
  expect(200, "", "DELETE", "/api/v1/access-tokens/" + ids[0], owner);
  check(3, 1, 0, "deletes");
  expect(200, "", "DELETE", "/api/v1/members/remove-from-org/" + dev_id, owner);
  check(2, 0, 2, "a removal");
}

// Stored statements that no longer compile fail closed one by one, and /metrics counts them.
BOOST_FIXTURE_TEST_CASE(stored_statements_that_fail_closed_are_counted, hand_edited_fixture) {
  const std::string text = call("GET", "/metrics", "").raw.body;
  BOOST_TEST(text.find("\ngatehouse_statements_failed_closed_total 2\n") != std::string::npos,
             text);
  const std::string dev = "Bearer " + jwt_for("legacy-dev", "legacy-org");
  for (const std::string& resource : {flag, std::string("project/a:env/b:flag/c")}) {
    BOOST_TEST(decision_of(dev, "ToggleFlag", resource) == "explicit_deny", resource);
  }
  BOOST_TEST(decision_of(dev, "DeleteProject", "project/web") == "implicit_deny");
  BOOST_TEST(decision_of(dev, "ArchiveFlag", flag) == "explicit_deny");
  BOOST_TEST(allowed(dev, "ArchiveFlag", "project/a:env/dev:flag/c"));
  BOOST_TEST(allowed(dev, "DeleteFlag", flag));
  BOOST_TEST(allowed(dev, "CanAccessProject", "project/web"));
  BOOST_TEST(allowed("Bearer " + jwt_for("legacy-owner", "legacy-org"), "ToggleFlag", flag));
  expect_healthy();
}

BOOST_AUTO_TEST_SUITE_END()
