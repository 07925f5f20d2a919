// Token expiry and rotation (SPEC §13) through the HTTP handler, on the service's injected clock.
// A token works until the millisecond it expires and answers 401 TokenExpired from then on,
// whatever its active flag; lists show and filter it as Expired; a time that is not RFC 3339 or
// not in the future is refused. A rotated token has a new secret, and the old one works through
// its grace period only; rotating again ends the earlier grace. (That both outlive a restart is
// iam_service_test's.)
#include "service_fixture.hpp"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <string>
#include <vector>

using namespace gatehouse;
using namespace gatehouse::testing;

namespace {

namespace data = boost::unit_test::data;

/// 2030-01-01T00:00:00Z, the clock's time when each test begins.
constexpr store::timestamp start = 1'893'456'000'000;
constexpr store::timestamp hour = 3'600'000;

/// `POST access-tokens` with `expiresAt` (a JSON value) added.
answer create_expiring(service_fixture& f, const std::string& name, const std::string& expires_at,
                       unsigned status = 201, std::string_view code = "") {
  return f.expect(status, code, "POST", "/api/v1/access-tokens", f.owner,
                  R"({"name":")" + name + R"(","type":"Personal","expiresAt":)" + expires_at + "}");
}

/// The statuses a token list with `query` shows, by token name.
std::vector<std::string> listed(service_fixture& f, const std::string& query) {
  auto a = f.expect(200, "", "GET", "/api/v1/access-tokens?pageSize=30" + query, f.owner);
  std::vector<std::string> out;
  for (const auto& t : a.data()["items"].GetArray()) {
    out.push_back(str(t, "name") + ":" + str(t, "status"));
  }
  std::sort(out.begin(), out.end());
  return out;
}

const char* const refused_times[] = {
    R"("2029-12-31T23:59:59Z")",  // in the past
    R"("2030-01-01T00:00:00Z")",  // now: not in the future
    R"("2030-01-01T09:00:00+09:00")",
    R"("2030-02-30T00:00:00Z")",
    R"("2030-01-01")",
    R"("tomorrow")",
    R"(1893459600000)",
    R"(true)",
    R"("")",
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(token_expiry_tests, service_fixture)

BOOST_AUTO_TEST_CASE(a_token_works_until_it_expires_and_then_says_so) {
  clock_ms = start;
  auto created = create_expiring(*this, "one-hour", R"("2030-01-01T01:00:00Z")");
  BOOST_TEST(str(created.data(), "expiresAt") == "2030-01-01T01:00:00.000Z");
  BOOST_TEST(str(created.data(), "status") == "Active");
  const std::string secret = str(created.data(), "token");
  const std::string id = str(created.data(), "id");

  clock_ms = start + hour - 1;
  decide(secret, "ToggleFlag", flag);
  clock_ms = start + hour;
  auto refused = expect(401, "TokenExpired", "POST", "/api/v1/decisions", secret,
                        R"({"action":"ToggleFlag","resource":")" + flag + R"("})");
  BOOST_TEST(refused.data().IsNull());

  // Expired wins over inactive: switched off, it still says what would fix it.
  expect(200, "", "PUT", "/api/v1/access-tokens/" + id + "/toggle", owner);
  expect(401, "TokenExpired", "POST", "/api/v1/decisions", secret,
         R"({"action":"ToggleFlag","resource":")" + flag + R"("})");
  // A token that never expires goes on working at any time.
  const std::string forever = str(create_expiring(*this, "forever", "null").data(), "token");
  clock_ms = start + 100'000 * hour;
  decide(forever, "ToggleFlag", flag);
}

BOOST_AUTO_TEST_CASE(lists_show_and_filter_expired_tokens) {
  clock_ms = start;
  create_expiring(*this, "soon", R"("2030-01-01T00:30:00Z")");
  const auto off = create_expiring(*this, "off-soon", R"("2030-01-01T00:30:00.000+00:00")");
  expect(200, "", "PUT", "/api/v1/access-tokens/" + str(off.data(), "id") + "/toggle", owner);
  create_expiring(*this, "later", R"("2030-01-02T00:00:00Z")");
  const auto later_off = create_token(owner, "later-off", "Personal");
  expect(200, "", "PUT", "/api/v1/access-tokens/" + str(later_off.data(), "id") + "/toggle", owner);
  BOOST_TEST(listed(*this, "&status=Expired").empty());

  clock_ms = start + hour;
  using names = std::vector<std::string>;
  BOOST_TEST(listed(*this, "") ==
                 (names{"later-off:Inactive", "later:Active", "off-soon:Expired", "soon:Expired"}),
             boost::test_tools::per_element());
  BOOST_TEST(listed(*this, "&status=Expired") == (names{"off-soon:Expired", "soon:Expired"}),
             boost::test_tools::per_element());
  BOOST_TEST(listed(*this, "&status=Active") == (names{"later:Active"}),
             boost::test_tools::per_element());
  BOOST_TEST(listed(*this, "&status=Inactive") == (names{"later-off:Inactive"}),
             boost::test_tools::per_element());
  BOOST_TEST(listed(*this, "&status=") == listed(*this, ""), boost::test_tools::per_element());
  expect(400, "status_is_invalid", "GET", "/api/v1/access-tokens?status=expired", owner);
  expect(400, "status_is_invalid", "GET", "/api/v1/access-tokens?status=Revoked", owner);
}

BOOST_DATA_TEST_CASE_F(service_fixture, a_time_not_rfc3339_or_not_ahead_is_refused,
                       data::make(refused_times), expires_at) {
  clock_ms = start;
  auto a = create_expiring(*this, "t", expires_at, 400, "expiresAt_is_invalid");
  BOOST_TEST(has_message(a));
  // Nothing was created.
  BOOST_TEST(listed(*this, "").empty());
}

BOOST_AUTO_TEST_SUITE_END()

// ---- Rotation
// ------------------------------------------------------------------------------------

namespace {

/// Rotates token `id` as the owner with `grace` seconds; answers the new secret.
std::string rotate(service_fixture& f, const std::string& id, unsigned grace) {
  auto a = f.expect(200, "", "POST", "/api/v1/access-tokens/" + id + "/rotate", f.owner,
                    R"({"gracePeriodSeconds":)" + std::to_string(grace) + "}");
  BOOST_TEST(str(a.data(), "id") == id);
  return str(a.data(), "token");
}

/// The status of a decision made with `secret`, and its error code.
std::string use(service_fixture& f, const std::string& secret) {
  auto a = f.call("POST", "/api/v1/decisions", secret,
                  R"({"action":"ToggleFlag","resource":")" + flag + R"("})");
  return std::to_string(a.raw.status) + (a.error().empty() ? "" : " " + a.error());
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(token_rotation_tests, service_fixture)

BOOST_AUTO_TEST_CASE(both_secrets_work_in_the_grace_period_then_only_the_new_one) {
  clock_ms = start;
  const auto made = create_token(owner, "deploy", "Personal");
  const std::string first = str(made.data(), "token");
  const std::string id = str(made.data(), "id");
  const std::string second = rotate(*this, id, 3600);
  BOOST_TEST(second != first);
  auto listed_token = expect(200, "", "GET", "/api/v1/access-tokens?name=deploy", owner);
  const auto& t = listed_token.data()["items"][0];
  BOOST_TEST(str(t, "secretPrefix") == second.substr(0, 10));
  BOOST_TEST(str(t, "previousSecretValidUntil") == "2030-01-01T01:00:00.000Z");
  BOOST_TEST(!t.HasMember("token"));

  clock_ms = start + hour - 1;
  BOOST_TEST(use(*this, first) == "200");
  BOOST_TEST(use(*this, second) == "200");
  clock_ms = start + hour;
  BOOST_TEST(use(*this, first) == "401 Unauthorized");
  BOOST_TEST(use(*this, second) == "200");
}

BOOST_AUTO_TEST_CASE(rotating_again_ends_the_earlier_grace_and_keeps_the_rest) {
  clock_ms = start;
  const auto made = create_expiring(*this, "job", R"("2030-01-02T00:00:00Z")");
  const std::string first = str(made.data(), "token");
  const std::string id = str(made.data(), "id");
  const std::string second = rotate(*this, id, 3600);
  const std::string third = rotate(*this, id, 600);
  BOOST_TEST(use(*this, first) == "401 Unauthorized");
  BOOST_TEST(use(*this, second) == "200");
  BOOST_TEST(use(*this, third) == "200");
  // No grace at all: the one replaced stops at once.
  const std::string fourth = rotate(*this, id, 0);
  BOOST_TEST(use(*this, third) == "401 Unauthorized");
  BOOST_TEST(use(*this, second) == "401 Unauthorized");
  BOOST_TEST(use(*this, fourth) == "200");
  // Same expiry, and an expired token answers TokenExpired with either secret.
  const std::string fifth = rotate(*this, id, 7200);
  clock_ms = start + 24 * hour;
  BOOST_TEST(use(*this, fifth) == "401 TokenExpired");
  clock_ms = start + hour;
  expect(200, "", "PUT", "/api/v1/access-tokens/" + id + "/toggle", owner);
  BOOST_TEST(use(*this, fourth) == "403 Forbidden");
  BOOST_TEST(use(*this, fifth) == "403 Forbidden");
}

BOOST_AUTO_TEST_CASE(rotation_is_held_to_the_manage_action_and_to_its_limits) {
  const auto made = create_token(owner, "owners", "Personal");
  const std::string id = str(made.data(), "id");
  const std::string base = "/api/v1/access-tokens/" + id + "/rotate";
  expect(400, "gracePeriodSeconds_is_required", "POST", base, owner, "{}");
  expect(400, "gracePeriodSeconds_is_invalid", "POST", base, owner,
         R"({"gracePeriodSeconds":604801})");
  expect(400, "gracePeriodSeconds_is_invalid", "POST", base, owner, R"({"gracePeriodSeconds":-1})");
  expect(400, "gracePeriodSeconds_is_invalid", "POST", base, owner,
         R"({"gracePeriodSeconds":"60"})");
  expect(200, "", "POST", base, owner, R"({"gracePeriodSeconds":604800})");
  expect(404, "ResourceNotFound", "POST", "/api/v1/access-tokens/" + not_a_token_id + "/rotate",
         owner, R"({"gracePeriodSeconds":0})");
  // A token cannot rotate a token; a Developer may manage personal tokens, but not mint a new
  // secret for the owner's, whose rights are beyond theirs.
  const std::string secret = str(made.data(), "token");
  expect(403, "Forbidden", "POST", base, secret, R"({"gracePeriodSeconds":0})");
  const std::string dev = bearer(add_member("dev@example.com"));
  auto refused = expect(403, "Forbidden", "POST", base, dev, R"({"gracePeriodSeconds":0})");
  BOOST_TEST(refused.data()["counterexample"].IsObject(), refused.raw.body);
  // Nothing changed: the old secret still works alone.
  BOOST_TEST(use(*this, secret) == "200");
}

BOOST_AUTO_TEST_SUITE_END()
