// The head of an answer as the session writes it: status line, the service's fields in order,
// Connection by version and keep-alive, Content-Length only where a body may be, and no head at
// all when a value would split it.
#include "http_head.hpp"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace {

using gatehouse::server::http_response;
using gatehouse::server::write_head;
namespace data = boost::unit_test::data;

struct head_case {
  const char* name;
  unsigned version;
  unsigned status;
  bool keep_alive;
  const char* content_type;
  std::vector<std::pair<std::string, std::string>> headers;
  const char* body;
  const char* head;
};
std::ostream& operator<<(std::ostream& os, const head_case& c) { return os << c.name; }

const head_case head_cases[] = {
    {"decision, HTTP/1.1 kept alive",
     11,
     200,
     true,
     "application/json",
     {},
     R"({"a":1})",
     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n"
     "X-Content-Type-Options: nosniff\r\nContent-Length: 7\r\n\r\n"},
    {"HTTP/1.1 closed",
     11,
     404,
     false,
     "application/json",
     {},
     "{}",
     "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n"
     "X-Content-Type-Options: nosniff\r\nConnection: close\r\nContent-Length: 2\r\n\r\n"},
    {"HTTP/1.0 kept alive",
     10,
     200,
     true,
     "application/json",
     {},
     "",
     "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n"
     "X-Content-Type-Options: nosniff\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"},
    {"HTTP/1.0 closed",
     10,
     500,
     false,
     "application/json",
     {},
     "x",
     "HTTP/1.0 500 Internal Server Error\r\nContent-Type: application/json\r\n"
     "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nContent-Length: 1\r\n\r\n"},
    {"further headers in order",
     11,
     302,
     true,
     "text/plain",
     {{"Location", "/console/"}, {"A", "b"}},
     "Found",
     "HTTP/1.1 302 Found\r\nContent-Type: text/plain\r\nCache-Control: no-store\r\n"
     "X-Content-Type-Options: nosniff\r\nLocation: /console/\r\nA: b\r\nContent-Length: 5\r\n\r\n"},
    {"304 has no body and no length",
     11,
     304,
     true,
     "",
     {{"ETag", "\"e\""}},
     "",
     "HTTP/1.1 304 Not Modified\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
     "ETag: \"e\"\r\n\r\n"},
    {"204 has no body and no length",
     11,
     204,
     true,
     "application/json",
     {},
     "",
     "HTTP/1.1 204 No Content\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n"
     "X-Content-Type-Options: nosniff\r\n\r\n"},
};

BOOST_DATA_TEST_CASE(heads_are_written_as_beast_wrote_them, data::make(head_cases), c) {
  http_response r;
  r.status = c.status;
  r.content_type = c.content_type;
  r.headers = c.headers;
  r.body = c.body;
  std::string head = "left over from the last answer";
  BOOST_TEST(write_head(head, c.version, r, c.keep_alive));
  BOOST_TEST(head == c.head);
}

struct splitting_case {
  const char* name;
  const char* content_type;
  const char* header_name;
  const char* header_value;
};
std::ostream& operator<<(std::ostream& os, const splitting_case& c) { return os << c.name; }

const splitting_case splitting_cases[] = {
    {"LF in a value", "application/json", "ETag", "\"1\"\nSet-Cookie: x=1"},
    {"CR in a value", "application/json", "ETag", "\"1\"\r"},
    {"CRLF in a name", "application/json", "A\r\nB", "c"},
    {"LF in the content type", "text/html\n", "A", "b"},
};

BOOST_DATA_TEST_CASE(a_value_that_would_split_the_head_writes_none, data::make(splitting_cases),
                     c) {
  http_response r;
  r.content_type = c.content_type;
  r.headers.emplace_back(c.header_name, c.header_value);
  std::string head = "left over";
  BOOST_TEST(!write_head(head, 11, r, true));
  BOOST_TEST(head.empty());
  // A NUL byte too, which a C string cannot carry.
  r.headers.assign({{"A", std::string("b\0c", 3)}});
  r.content_type = "application/json";
  BOOST_TEST(!write_head(head, 11, r, true));
}

BOOST_AUTO_TEST_CASE(reason_phrase_of_a_status_beast_does_not_know) {
  http_response r;
  r.status = 299;
  std::string head;
  BOOST_TEST(write_head(head, 11, r, true));
  BOOST_TEST(head.starts_with("HTTP/1.1 299 <unknown-status>\r\n"), head);
}

}  // namespace
