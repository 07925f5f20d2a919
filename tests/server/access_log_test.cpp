// The access log's lines: what a client sent escaped so that it cannot forge or split a line, the
// query's values left out, credential-like parts redacted.
#include "access_log.hpp"
#include "log_output.hpp"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <ostream>
#include <regex>
#include <string>
#include <string_view>

namespace {

using namespace gatehouse::server;
namespace data = boost::unit_test::data;

struct escape_case {
  std::string_view text;
  const char* escaped;
};
std::ostream& operator<<(std::ostream& os, const escape_case& c) { return os << c.escaped; }

const escape_case escape_cases[] = {
    {"", ""},
    {"/api/v1/decisions", "/api/v1/decisions"},
    {"a b", "a\\x20b"},
    {"\"quoted\"", "\\x22quoted\\x22"},
    {"back\\slash", "back\\x5cslash"},
    {"line\r\nfeed", "line\\x0d\\x0afeed"},
    {std::string_view("nul\0", 4), "nul\\x00"},
    {"\x7f\x80\xff", "\\x7f\\x80\\xff"},
    {"~!}", "~!}"},
};

BOOST_DATA_TEST_CASE(client_bytes_are_escaped, data::make(escape_cases), c) {
  std::string line = "kept ";
  append_escaped(line, c.text);
  BOOST_TEST(line == std::string("kept ") + c.escaped);
}

struct line_case {
  const char* target;
  const char* logged;
};
std::ostream& operator<<(std::ostream& os, const line_case& c) { return os << c.target; }

const line_case line_cases[] = {
    {"/api/v1/decisions", "/api/v1/decisions"},
    {"/api/v1/access-tokens?name=ci&pageSize=10", "/api/v1/access-tokens?name&pageSize"},
    {"/api/v1/x/api-secret", "/api/v1/x/[redacted]"},
    {"/healthz?eyJhbGciOi=1", "/healthz?[redacted]"},
    {"/a b", "/a\\x20b"},
};

BOOST_DATA_TEST_CASE(a_line_says_who_asked_what_and_how_it_went, data::make(line_cases), c) {
  std::string line = "the last line, which must go";
  format_access_line(line, {.remote = "127.0.0.1:5000",
                            .method = "POST",
                            .target = c.target,
                            .status = 403,
                            .duration = std::chrono::microseconds(1234),
                            .subject = "service-token:t-1"});
  const std::regex time(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z )");
  BOOST_TEST(std::regex_search(line, time), line);
  const std::string rest =
      std::string("127.0.0.1:5000 POST ") + c.logged + " 403 1234us service-token:t-1";
  BOOST_TEST(line.ends_with(" " + rest), line);
  BOOST_TEST(line.size() == 25 + rest.size(), line);
}

BOOST_AUTO_TEST_CASE(a_request_whose_start_line_is_unknown) {
  std::string line;
  format_access_line(line, {.remote = "[::1]:80",
                            .method = {},
                            .target = {},
                            .status = 431,
                            .duration = {},
                            .subject = "-"});
  BOOST_TEST(line.ends_with(" [::1]:80 - - 431 0us -"), line);
}

}  // namespace
