// The console's files as the handler serves them: the page for every route of the console, the
// files by name, revalidation with ETags, and the headers that keep the page to its origin.
#include "service_fixture.hpp"

#include "console_assets.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <string_view>

using namespace gatehouse;
using namespace gatehouse::testing;

namespace {

server::http_response get(service_fixture& f, std::string_view target,
                          std::string_view if_none_match = {}, std::string_view method = "GET") {
  return f.service->handle_request(
      {.method = method, .target = target, .if_none_match = if_none_match});
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(console_tests, service_fixture)

BOOST_AUTO_TEST_CASE(root_redirects_to_the_console) {
  const auto r = get(*this, "/");
  BOOST_TEST(r.status == 302U);
  BOOST_TEST(header(r, "Location") == "/console/");
  BOOST_TEST(get(*this, "/", {}, "POST").status == 405U);
}

BOOST_AUTO_TEST_CASE(every_route_of_the_console_gets_its_page) {
  const auto page = get(*this, "/console/");
  BOOST_TEST(page.status == 200U);
  BOOST_TEST(page.content_type == "text/html; charset=utf-8");
  BOOST_TEST(page.body.find("<script type=\"module\" src=\"/console/js/app.js\">") !=
             std::string::npos);
  for (const auto* route : {"/console", "/console/access-tokens", "/console/sign-in",
                            "/console/access-tokens/", "/console/policies"}) {
    const auto r = get(*this, route);
    BOOST_TEST(r.status == 200U, route);
    BOOST_TEST(r.body == page.body, route);
  }
}

BOOST_AUTO_TEST_CASE(files_are_served_by_name_with_their_type) {
  const auto script = get(*this, "/console/js/app.js");
  BOOST_TEST(script.status == 200U);
  BOOST_TEST(script.content_type == "text/javascript; charset=utf-8");
  BOOST_TEST(script.body.find("export function navigate") != std::string::npos);
  BOOST_TEST(get(*this, "/console/console.css").content_type == "text/css; charset=utf-8");
  BOOST_TEST(get(*this, "/console/favicon.svg").content_type == "image/svg+xml");
  // A missing file is a 404, not the page; the tests beside the console are not served.
  BOOST_TEST(get(*this, "/console/js/missing.js").status == 404U);
  BOOST_TEST(get(*this, "/console/tests/harness.mjs").status == 404U);
  BOOST_TEST(get(*this, "/console/tests/package.json").status == 404U);
}

// The page names every module for preloading, so that none waits for the one importing it.
BOOST_AUTO_TEST_CASE(the_page_preloads_every_module) {
  const auto page = get(*this, "/console/").body;
  std::size_t modules = 0;
  for (const auto& asset : server::console_assets()) {
    if (!asset.path.ends_with(".js") || asset.path == "js/app.js") continue;
    ++modules;
    const std::string link =
        "<link rel=\"modulepreload\" href=\"/console/" + std::string(asset.path) + "\">";
    BOOST_TEST(page.find(link) != std::string::npos, asset.path);
  }
  BOOST_TEST(modules > 5U);
}

BOOST_AUTO_TEST_CASE(an_etag_revalidates_to_304) {
  const auto first = get(*this, "/console/js/app.js");
  const std::string etag = header(first, "ETag");
  BOOST_TEST(etag.size() == 34U);
  BOOST_TEST(first.cache_control == "no-cache");
  const auto again = get(*this, "/console/js/app.js", etag);
  BOOST_TEST(again.status == 304U);
  BOOST_TEST(again.body.empty());
  BOOST_TEST(get(*this, "/console/js/app.js", "\"other\", W/" + etag).status == 304U);
  BOOST_TEST(get(*this, "/console/js/app.js", "*").status == 304U);
  BOOST_TEST(get(*this, "/console/js/app.js", "\"other\"").status == 200U);
  // Another file has another tag.
  BOOST_TEST(header(get(*this, "/console/console.css"), "ETag") != etag);
}

BOOST_AUTO_TEST_CASE(pages_carry_a_strict_content_security_policy) {
  for (const auto* target : {"/console/access-tokens", "/console/js/app.js"}) {
    const auto r = get(*this, target);
    const std::string csp = header(r, "Content-Security-Policy");
    BOOST_TEST(csp.find("default-src 'none'") != std::string::npos, target);
    BOOST_TEST(csp.find("script-src 'self';") != std::string::npos, target);
    BOOST_TEST(csp.find("frame-ancestors 'none'") != std::string::npos, target);
    BOOST_TEST(csp.find("unsafe") == std::string::npos, target);
    BOOST_TEST(header(r, "Referrer-Policy") == "no-referrer", target);
  }
}

BOOST_AUTO_TEST_CASE(only_get_and_head_are_answered) {
  BOOST_TEST(get(*this, "/console/access-tokens", {}, "POST").status == 405U);
  const auto head = get(*this, "/console/access-tokens", {}, "HEAD");
  BOOST_TEST(head.status == 200U);
  BOOST_TEST(head.body.empty());
}

BOOST_AUTO_TEST_CASE(api_answers_keep_no_store) {
  const auto r = call("GET", "/api/v1/access-tokens", owner);
  BOOST_TEST(r.raw.cache_control == "no-store");
}

BOOST_AUTO_TEST_SUITE_END()
