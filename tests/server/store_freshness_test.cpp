// An instance on a shared store (SPEC §12) that has not heard from it for longer than it may
// answer from memory: the API answers 503 StoreUnavailable, /healthz says so, /metrics carries
// the staleness; once the store is heard from again, everything answers as before. And what
// counts as a store that cannot be reached (503) rather than one that refused (500).
#include "service_fixture.hpp"

#include <gatehouse/iam/errors.hpp>
#include <gatehouse/server/http_service.hpp>

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <string>
#include <thread>

using namespace gatehouse;
using namespace gatehouse::testing;
using namespace std::chrono_literals;

namespace {

/// How long the tests' instances may answer from memory: short, so that a test can outlast it.
constexpr auto max_staleness = 50ms;

const std::string decision = R"({"action":"ToggleFlag","resource":"project/web:env/prod:flag/x"})";

}  // namespace

BOOST_FIXTURE_TEST_SUITE(store_freshness_tests, service_fixture)

BOOST_AUTO_TEST_CASE(an_instance_cut_off_too_long_answers_503_until_it_hears_again) {
  server::store_freshness freshness(max_staleness);
  service->follow(&freshness);
  freshness.heard();
  expect(200, "", "POST", "/api/v1/decisions", owner, decision);
  auto health = expect(200, "", "GET", "/healthz", "");
  BOOST_TEST(str(health.data(), "store") == "reachable");
  BOOST_TEST(health.data()["stalenessMs"].GetInt64() <= max_staleness.count());

  freshness.lost();
  std::this_thread::sleep_for(max_staleness + 20ms);
  BOOST_TEST(freshness.stale());
  // Every API route, whoever asks: a revocation made elsewhere may be unseen.
  expect(503, "StoreUnavailable", "POST", "/api/v1/decisions", owner, decision);
  expect(503, "StoreUnavailable", "GET", "/api/v1/access-tokens", owner);
  expect(503, "StoreUnavailable", "GET", "/healthz", "");
  const auto scraped = call("GET", "/metrics", "");
  BOOST_TEST(scraped.raw.status == 200U);
  BOOST_TEST(scraped.raw.body.find("gatehouse_store_reachable 0\n") != std::string::npos);
  const std::string gauge = "\ngatehouse_store_staleness_seconds ";
  const auto at = scraped.raw.body.find(gauge);
  BOOST_REQUIRE(at != std::string::npos);
  BOOST_TEST(std::stod(scraped.raw.body.substr(at + gauge.size())) >= 0.05);
  BOOST_TEST(scraped.raw.body.find("gatehouse_change_log_applied_id ") != std::string::npos);
  // A path no route has is still told apart, and the console still loads.
  expect(404, "ResourceNotFound", "GET", "/api/v1/nothing-here", owner);

  freshness.heard();
  expect(200, "", "POST", "/api/v1/decisions", owner, decision);
  health = expect(200, "", "GET", "/healthz", "");
  BOOST_TEST(str(health.data(), "store") == "reachable");
}

BOOST_AUTO_TEST_CASE(an_instance_on_its_own_store_answers_health_as_ever) {
  const auto health = expect(200, "", "GET", "/healthz", "");
  BOOST_TEST(health.raw.body == R"({"success":true,"errors":[],"data":"ok"})");
  BOOST_TEST(call("GET", "/metrics", "").raw.body.find("gatehouse_store_") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_lost_connection_is_told_from_a_refusal) {
  BOOST_TEST(store::is_unavailable(store::make_error_code(store::errc::unavailable)));
  BOOST_TEST(!store::is_unavailable(store::make_error_code(store::errc::malformed_record)));
  // SQLSTATE 08006 (connection failure) and 57P01 (the server shutting down) are unavailable;
  // 23505 (a unique constraint) is a refusal. SQLSTATE is read as a base-36 number.
  const auto sqlstate = [](std::string_view state) {
    int code = 0;
    for (const char c : state) code = code * 36 + (c <= '9' ? c - '0' : c - 'A' + 10);
    return boost::system::error_code(code, store::postgresql_category());
  };
  BOOST_TEST(store::is_unavailable(sqlstate("08006")));
  BOOST_TEST(store::is_unavailable(sqlstate("57P01")));
  BOOST_TEST(!store::is_unavailable(sqlstate("23505")));
  BOOST_TEST(sqlstate("23505").message().find("unique") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
