// Token expiry (SPEC §13) through the HTTP handler, on the service's injected clock: a token
// works until the millisecond it expires and answers 401 TokenExpired from then on, whatever its
// active flag; lists show and filter it as Expired; and a time that is not RFC 3339 or not in
// the future is refused. (That the expiry outlives a restart is iam_service_test's.)
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
