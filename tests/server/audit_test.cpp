// The audit trail through the HTTP handler (SPEC §13): every changing route leaves exactly one
// record naming its actor and target, a failed change none, a refused one a single denied
// record; no record holds a secret; and GET audit-log filters and pages what it reads.
#include "service_fixture.hpp"

#include <gatehouse/iam/builtins.hpp>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <functional>
#include <set>
#include <string>
#include <vector>

namespace gatehouse::testing {
namespace {

/// The organization's whole trail, oldest first, read through the service.
std::vector<store::audit_record> trail(service_fixture& f) {
  const auto who = f.iam->authenticate_member(f.owner_id, f.organization);
  BOOST_REQUIRE(who.has_value());
  std::vector<store::audit_record> out;
  for (std::size_t page = 0;; ++page) {
    store::audit_query q;
    q.page_index = page;
    q.page_size = 100;
    const auto got = f.iam->audit_log(*who, q);
    BOOST_REQUIRE(got.has_value());
    out.insert(out.end(), got->items.begin(), got->items.end());
    if ((page + 1) * 100 >= got->total_count) break;
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.id < b.id; });
  return out;
}

/// The records added to the trail by `act`.
std::vector<store::audit_record> added_by(service_fixture& f, const std::function<void()>& act) {
  const auto before = trail(f);
  act();
  auto after = trail(f);
  BOOST_REQUIRE(after.size() >= before.size());
  return {after.begin() + static_cast<std::ptrdiff_t>(before.size()), after.end()};
}

struct change_case {
  std::string type;
  std::function<std::string(service_fixture&)> act;  // makes the change; answers the target id
};

BOOST_FIXTURE_TEST_SUITE(audit_trail, service_fixture)

BOOST_AUTO_TEST_CASE(every_change_leaves_one_record_with_its_actor_and_target) {
  const std::string dev = add_member("dev@example.com");
  const std::string policy = create_policy("readers", R"([{"id":"s1","resourceType":"flag",
      "effect":"allow","actions":["UpdateFlagName"],"resources":["project/*:env/*:flag/*"]}])");
  std::string token, group;
  const std::vector<change_case> cases{
      {"token.create",
       [&](service_fixture& f) {
         return token = str(f.create_token(f.owner, "ci", "Personal").data(), "id");
       }},
      {"token.rename",
       [&](service_fixture& f) {
         f.expect(200, "", "PUT", "/api/v1/access-tokens/" + token, f.owner, R"({"name":"ci-2"})");
         return token;
       }},
      {"token.toggle",
       [&](service_fixture& f) {
         f.expect(200, "", "PUT", "/api/v1/access-tokens/" + token + "/toggle", f.owner);
         return token;
       }},
      {"token.rotate",
       [&](service_fixture& f) {
         f.expect(200, "", "POST", "/api/v1/access-tokens/" + token + "/rotate", f.owner,
                  R"({"gracePeriodSeconds":60})");
         return token;
       }},
      {"token.delete",
       [&](service_fixture& f) {
         f.expect(200, "", "DELETE", "/api/v1/access-tokens/" + token, f.owner);
         return token;
       }},
      {"member.add", [](service_fixture& f) { return f.add_member("new@example.com"); }},
      {"member.attach-policy",
       [&](service_fixture& f) {
         f.expect(200, "", "PUT", "/api/v1/members/" + dev + "/add-policy/" + policy, f.owner);
         return dev;
       }},
      {"member.detach-policy",
       [&](service_fixture& f) {
         f.expect(200, "", "PUT", "/api/v1/members/" + dev + "/remove-policy/" + policy, f.owner);
         return dev;
       }},
      {"group.create",
       [&](service_fixture& f) {
         return group = str(f.expect(201, "", "POST", "/api/v1/groups", f.owner,
                                     R"({"name":"Ops","description":"on call"})")
                                .data(),
                            "id");
       }},
      {"group.add-member",
       [&](service_fixture& f) {
         f.expect(200, "", "PUT", "/api/v1/groups/" + group + "/add-member/" + dev, f.owner);
         return group;
       }},
      {"group.attach-policy",
       [&](service_fixture& f) {
         f.expect(200, "", "PUT", "/api/v1/groups/" + group + "/add-policy/" + policy, f.owner);
         return group;
       }},
      {"group.detach-policy",
       [&](service_fixture& f) {
         f.expect(200, "", "PUT", "/api/v1/groups/" + group + "/remove-policy/" + policy, f.owner);
         return group;
       }},
      {"group.remove-member",
       [&](service_fixture& f) {
         f.expect(200, "", "PUT", "/api/v1/groups/" + group + "/remove-member/" + dev, f.owner);
         return group;
       }},
      {"group.delete",
       [&](service_fixture& f) {
         f.expect(200, "", "DELETE", "/api/v1/groups/" + group, f.owner);
         return group;
       }},
      {"policy.create",
       [](service_fixture& f) {
         return str(f.expect(201, "", "POST", "/api/v1/policies", f.owner,
                             R"({"name":"Other","key":"other","description":""})")
                        .data(),
                    "id");
       }},
      {"policy.set-statements",
       [&](service_fixture& f) {
         f.expect(200, "", "PUT", "/api/v1/policies/" + policy + "/statements", f.owner,
                  R"([{"id":"s1","resourceType":"flag","effect":"allow",
                       "actions":["UpdateFlagName","ToggleFlag"],"resources":["project/*:env/*:flag/*"]}])");
         return policy;
       }},
      {"policy.delete",
       [&](service_fixture& f) {
         f.expect(200, "", "DELETE", "/api/v1/policies/" + policy, f.owner);
         return policy;
       }},
      {"member.remove",
       [&](service_fixture& f) {
         f.expect(200, "", "DELETE", "/api/v1/members/remove-from-org/" + dev, f.owner);
         return dev;
       }},
  };
  for (const auto& c : cases) {
    std::string target;
    const auto added = added_by(*this, [&] { target = c.act(*this); });
    BOOST_TEST_CONTEXT(c.type) {
      BOOST_TEST_REQUIRE(added.size() == 1U);
      const auto& r = added.front();
      BOOST_TEST(r.type == c.type);
      BOOST_TEST(r.target_id == target);
      BOOST_TEST(r.actor_kind == "member");
      BOOST_TEST(r.actor_id == owner_id);
      BOOST_TEST(r.actor_member_id == owner_id);
      BOOST_TEST(r.organization_id == organization);
      BOOST_TEST(!r.denied);
      BOOST_TEST(r.summary_json.starts_with('{'));
    }
  }
}

BOOST_AUTO_TEST_CASE(summaries_say_what_changed) {
  const std::string id = str(create_token(owner, "ci", "Personal").data(), "id");
  const auto renamed = added_by(*this, [&] {
    expect(200, "", "PUT", "/api/v1/access-tokens/" + id, owner, R"({"name":"deploy"})");
  });
  BOOST_REQUIRE(renamed.size() == 1U);
  BOOST_TEST(renamed[0].summary_json == R"({"before":{"name":"ci"},"after":{"name":"deploy"}})");
  const auto toggled = added_by(
      *this, [&] { expect(200, "", "PUT", "/api/v1/access-tokens/" + id + "/toggle", owner); });
  BOOST_REQUIRE(toggled.size() == 1U);
  BOOST_TEST(
      toggled[0].summary_json ==
      R"({"before":{"name":"deploy","status":"Active"},"after":{"name":"deploy","status":"Inactive"}})");
  const std::string policy = create_policy("p", R"([{"id":"a","resourceType":"flag",
      "effect":"deny","actions":["ToggleFlag"],"resources":["project/*:env/*:flag/*"]}])");
  const auto edited = added_by(*this, [&] {
    expect(200, "", "PUT", "/api/v1/policies/" + policy + "/statements", owner,
           R"([{"id":"a","resourceType":"flag","effect":"allow","actions":["ToggleFlag",
               "UpdateFlagName"],"resources":["project/*:env/*:flag/*"]},{"id":"b",
               "resourceType":"flag","effect":"deny","actions":["ToggleFlag"],
               "resources":["project/*:env/prod:flag/*"]}])");
  });
  BOOST_REQUIRE(edited.size() == 1U);
  const auto& summary = edited[0].summary_json;
  BOOST_TEST(summary.find(R"("before":{"version":)") != std::string::npos, summary);
  BOOST_TEST(summary.find(R"("statements":1,"allowing":0,"denying":1,"actions":["ToggleFlag"]})") !=
                 std::string::npos,
             summary);
  BOOST_TEST(
      summary.find(
          R"("statements":2,"allowing":1,"denying":1,"actions":["ToggleFlag","UpdateFlagName"]})") !=
          std::string::npos,
      summary);
}

BOOST_AUTO_TEST_CASE(a_failed_change_leaves_no_record) {
  const std::string token = str(create_token(owner, "ci", "Personal").data(), "id");
  const std::string policy = create_policy("p", "[]");
  const auto added = added_by(*this, [&] {
    expect(400, "name_is_required", "POST", "/api/v1/access-tokens", owner,
           R"({"type":"Personal","permissions":[]})");
    expect(422, "NameHasBeenUsed", "POST", "/api/v1/access-tokens", owner,
           R"({"name":"ci","type":"Personal","permissions":[]})");
    expect(404, "ResourceNotFound", "PUT", "/api/v1/access-tokens/" + not_a_token_id + "/toggle",
           owner);
    expect(400, "gracePeriodSeconds_is_invalid", "POST",
           "/api/v1/access-tokens/" + token + "/rotate", owner, R"({"gracePeriodSeconds":-1})");
    expect(400, "statements_is_invalid", "PUT", "/api/v1/policies/" + policy + "/statements", owner,
           R"([{"id":"a","resourceType":"flag","effect":"allow","actions":["TogleFlag"],
                      "resources":["project/*:env/*:flag/*"]}])");
    expect(422, "CannotModifySysManagedPolicy", "DELETE",
           "/api/v1/policies/" + std::string(iam::owner_policy_id), owner);
    expect(409, "Conflict", "POST", "/api/v1/members/add", owner,
           R"({"email":"owner@example.com"})");
    // The last owner cannot leave: refused by an invariant, not by a right.
    expect(422, "LastOwner", "DELETE", "/api/v1/members/remove-from-org/" + owner_id, owner);
  });
  // The message is built even when the check passes: it must not read a record that is not there.
  BOOST_TEST(added.empty(), added.size() << " records, the first "
                                         << (added.empty() ? std::string("none") : added[0].type));
}

BOOST_AUTO_TEST_CASE(a_refused_change_leaves_one_denied_record_and_nothing_else) {
  const std::string dev_id = add_member("dev@example.com");
  const std::string dev = bearer(dev_id);
  const std::string policy = create_policy("p", "[]");
  struct refused {
    std::string method, target, body, type, target_id;
  };
  const std::vector<refused> attempts{
      {"POST", "/api/v1/members/add", R"({"email":"x@example.com"})", "member.add", ""},
      {"PUT", "/api/v1/members/" + dev_id + "/add-policy/" + std::string(iam::owner_policy_id), "",
       "member.attach-policy", dev_id},
      {"DELETE", "/api/v1/policies/" + policy, "", "policy.delete", policy},
      {"POST", "/api/v1/groups", R"({"name":"x"})", "group.create", ""},
  };
  for (const auto& a : attempts) {
    const auto added =
        added_by(*this, [&] { expect(403, "Forbidden", a.method, a.target, dev, a.body); });
    BOOST_TEST_CONTEXT(a.method << ' ' << a.target) {
      BOOST_TEST_REQUIRE(added.size() == 1U);
      BOOST_TEST(added[0].denied);
      BOOST_TEST(added[0].type == a.type);
      BOOST_TEST(added[0].target_id == a.target_id);
      BOOST_TEST(added[0].actor_id == dev_id);
      BOOST_TEST(added[0].summary_json.starts_with(R"({"reason":")"), added[0].summary_json);
    }
  }
  // A read that is refused is no attempt at a change.
  const auto reads =
      added_by(*this, [&] { expect(403, "Forbidden", "GET", "/api/v1/members", dev); });
  BOOST_TEST(reads.empty());
}

BOOST_AUTO_TEST_CASE(one_caller_cannot_grow_the_trail_at_will) {
  const std::string dev = bearer(add_member("dev@example.com"));
  clock_ms = 1'900'000'020'000;  // the start of a minute
  const auto added = added_by(*this, [&] {
    for (int i = 0; i < 45; ++i) {
      expect(403, "Forbidden", "POST", "/api/v1/groups", dev, R"({"name":"x"})");
    }
  });
  BOOST_TEST(added.size() == 30U);
  BOOST_TEST(iam->refusals_not_recorded() == 15U);
  const auto exposition = call("GET", "/metrics", "");
  BOOST_TEST(exposition.raw.body.find("\ngatehouse_audit_refusals_not_recorded_total 15\n") !=
             std::string::npos);
  // Another caller has a budget of its own, and the next minute a fresh one.
  const std::string other = bearer(add_member("other@example.com"));
  BOOST_TEST(added_by(*this, [&] {
               expect(403, "Forbidden", "POST", "/api/v1/groups", other, R"({"name":"x"})");
             }).size() == 1U);
  clock_ms = 1'900'000'080'000;
  BOOST_TEST(added_by(*this, [&] {
               expect(403, "Forbidden", "POST", "/api/v1/groups", dev, R"({"name":"x"})");
             }).size() == 1U);
}

BOOST_AUTO_TEST_CASE(removing_a_member_records_each_revoked_token) {
  const std::string dev_id = add_member("dev@example.com");
  const std::string first = str(create_token(bearer(dev_id), "one", "Personal").data(), "id");
  const std::string second = str(create_token(bearer(dev_id), "two", "Personal").data(), "id");
  const auto added = added_by(*this, [&] {
    expect(200, "", "DELETE", "/api/v1/members/remove-from-org/" + dev_id, owner);
  });
  std::multiset<std::string> revoked;
  for (const auto& r : added) {
    if (r.type == "token.revoke") revoked.insert(r.target_id);
  }
  BOOST_TEST(added.size() == 3U);
  BOOST_TEST(revoked == (std::multiset<std::string>{first, second}));
  BOOST_TEST(std::count_if(added.begin(), added.end(), [&](auto& r) {
               return r.type == "member.remove" && r.target_id == dev_id;
             }) == 1);
}

BOOST_AUTO_TEST_CASE(no_record_holds_a_secret) {
  std::vector<std::string> secrets;
  for (int i = 0; i < 6; ++i) {
    auto created = create_token(owner, "t" + std::to_string(i), i % 2 == 0 ? "Personal" : "Service",
                                i % 2 == 0 ? "[]" : R"([{"id":"s","resourceType":"flag",
        "effect":"allow","actions":["ToggleFlag"],"resources":["project/*:env/*:flag/*"]}])");
    const std::string id = str(created.data(), "id");
    secrets.push_back(str(created.data(), "token"));
    for (int r = 0; r < 2; ++r) {
      auto rotated = expect(200, "", "POST", "/api/v1/access-tokens/" + id + "/rotate", owner,
                            R"({"gracePeriodSeconds":30})");
      secrets.push_back(str(rotated.data(), "token"));
    }
    // Acting with the token, refused, is recorded too.
    expect(403, "Forbidden", "POST", "/api/v1/access-tokens", "Bearer " + secrets.back(),
           R"({"name":"x","type":"Personal","permissions":[]})");
  }
  const auto all = trail(*this);
  BOOST_TEST(all.size() >= 6U * 4U);
  for (const auto& r : all) {
    const std::string text = r.summary_json + r.actor_id + r.target_id + r.type + r.actor_kind;
    for (const auto& s : secrets) {
      // Not the secret, and nothing of it beyond the prefix that lists show.
      BOOST_TEST(text.find(s.substr(iam::secret_prefix_length)) == std::string::npos,
                 r.summary_json);
    }
  }
}

BOOST_AUTO_TEST_CASE(the_log_filters_and_pages_and_needs_the_iam_right) {
  const std::string dev_id = add_member("dev@example.com");
  const std::string a = str(create_token(owner, "a", "Personal").data(), "id");
  clock_ms = 2'000'000'000'000;
  const std::string b = str(create_token(bearer(dev_id), "b", "Personal").data(), "id");
  expect(200, "", "PUT", "/api/v1/access-tokens/" + b + "/toggle", owner);
  clock_ms = 2'000'000'060'000;
  expect(200, "", "PUT", "/api/v1/access-tokens/" + a + "/toggle", owner);

  auto page = expect(200, "", "GET", "/api/v1/audit-log?targetId=" + b, owner);
  BOOST_TEST(page.data()["totalCount"].GetUint64() == 2U);
  BOOST_TEST(str(page.data()["items"][0], "type") == "token.toggle");  // newest first
  BOOST_TEST(str(page.data()["items"][1], "type") == "token.create");
  BOOST_TEST(str(page.data()["items"][1], "actorId") == dev_id);
  BOOST_TEST(!page.data()["items"][0].HasMember("organizationId"));

  page = expect(200, "", "GET", "/api/v1/audit-log?actorId=" + dev_id, owner);
  BOOST_TEST(page.data()["totalCount"].GetUint64() == 1U);
  page = expect(200, "", "GET", "/api/v1/audit-log?type=token", owner);
  BOOST_TEST(page.data()["totalCount"].GetUint64() == 4U);
  page = expect(200, "", "GET", "/api/v1/audit-log?type=token.toggle", owner);
  BOOST_TEST(page.data()["totalCount"].GetUint64() == 2U);
  page = expect(200, "", "GET",
                "/api/v1/audit-log?from=2033-05-18T03:33:20Z&to=2033-05-18T03:34:20Z", owner);
  BOOST_TEST(page.data()["totalCount"].GetUint64() == 2U);  // b's creation and toggle
  page = expect(200, "", "GET", "/api/v1/audit-log?pageSize=2&pageIndex=1", owner);
  BOOST_TEST(page.data()["items"].Size() == 2U);
  const auto total = page.data()["totalCount"].GetUint64();
  BOOST_TEST(total == trail(*this).size());

  expect(400, "type_is_invalid", "GET", "/api/v1/audit-log?type=tok", owner);
  expect(400, "type_is_invalid", "GET", "/api/v1/audit-log?type=token.", owner);
  expect(400, "from_is_invalid", "GET", "/api/v1/audit-log?from=yesterday", owner);
  expect(400, "to_is_invalid", "GET", "/api/v1/audit-log?to=2027-02-30T00:00:00Z", owner);
  expect(400, "pageSize_is_invalid", "GET", "/api/v1/audit-log?pageSize=101", owner);
  expect(403, "Forbidden", "GET", "/api/v1/audit-log", bearer(dev_id));
  expect(401, "Unauthorized", "GET", "/api/v1/audit-log", "");

  // Another organization's trail is not this one's.
  auto other = iam->create_organization("globex", "boss@globex.example");
  BOOST_REQUIRE(other.has_value());
  const auto theirs = expect(200, "", "GET", "/api/v1/audit-log",
                             "Bearer " + jwt_for(other->second.id, other->first.id));
  BOOST_TEST(theirs.data()["totalCount"].GetUint64() == 2U);  // its creation and its owner
  for (const auto& r : theirs.data()["items"].GetArray()) {
    BOOST_TEST(str(r, "actorKind") == "system");
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace gatehouse::testing
