// The one writer of times in API answers and log lines: ISO-8601 UTC to the millisecond, and null
// in JSON for what cannot be a time the service recorded; and the one reader of the RFC 3339 times
// requests carry.
#include <gatehouse/store/utc_time.hpp>

#include "http_json.hpp"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

namespace {

namespace data = boost::unit_test::data;

struct time_case {
  std::int64_t ms;
  const char* text;
};
std::ostream& operator<<(std::ostream& os, const time_case& c) { return os << c.ms; }

const time_case time_cases[] = {
    {1, "1970-01-01T00:00:00.001Z"},
    {951'782'400'000, "2000-02-29T00:00:00.000Z"},
    {1'700'000'000'123, "2023-11-14T22:13:20.123Z"},
    {253'402'300'799'999, "9999-12-31T23:59:59.999Z"},
};

std::string json_time(std::int64_t ms) {
  rapidjson::StringBuffer buffer;
  gatehouse::server::json_writer w(buffer);
  gatehouse::server::write_time(w, ms);
  return {buffer.GetString(), buffer.GetSize()};
}

BOOST_AUTO_TEST_SUITE(utc_time_tests)

BOOST_DATA_TEST_CASE(times_are_written_to_the_millisecond, data::make(time_cases), c) {
  using namespace std::chrono;
  const auto text = gatehouse::store::utc_time(sys_time<milliseconds>{milliseconds{c.ms}});
  BOOST_TEST(std::string(text.data(), text.size()) == c.text);
  BOOST_TEST(json_time(c.ms) == '"' + std::string(c.text) + '"');
}

BOOST_AUTO_TEST_CASE(what_cannot_be_a_recorded_time_is_null) {
  BOOST_TEST(json_time(0) == "null");
  BOOST_TEST(json_time(-1) == "null");
  BOOST_TEST(json_time(253'402'300'800'000) == "null");
}

struct parse_case {
  const char* text;
  std::int64_t ms;  // -1: refused
};
std::ostream& operator<<(std::ostream& os, const parse_case& c) { return os << c.text; }

const parse_case parse_cases[] = {
    {"2023-11-14T22:13:20Z", 1'700'000'000'000},
    {"2023-11-14T22:13:20.123Z", 1'700'000'000'123},
    {"2023-11-14t22:13:20.1z", 1'700'000'000'100},
    {"2023-11-14T22:13:20.123456789Z", 1'700'000'000'123},
    {"2023-11-15T07:13:20+09:00", 1'700'000'000'000},
    {"2023-11-14T17:43:20-04:30", 1'700'000'000'000},
    {"2000-02-29T00:00:00Z", 951'782'400'000},
    {"2016-12-31T23:59:60Z", 1'483'228'799'999},
    {"9999-12-31T23:59:59.999Z", 253'402'300'799'999},
    {"2023-02-29T00:00:00Z", -1},
    {"2023-13-01T00:00:00Z", -1},
    {"2023-11-14T24:00:00Z", -1},
    {"2023-11-14T22:60:00Z", -1},
    {"2023-11-14T22:13:20", -1},
    {"2023-11-14 22:13:20Z", -1},
    {"2023-11-14T22:13:20.Z", -1},
    {"2023-11-14T22:13:20+0900", -1},
    {"2023-11-14T22:13:20+24:00", -1},
    {"0000-01-01T00:00:00Z", -1},
    {"+2023-11-14T22:13:20Z", -1},
    {"2023-1-14T22:13:20Z", -1},
    {"", -1},
    {"2023-11-14T22:13:20Zjunk", -1},
};

BOOST_DATA_TEST_CASE(rfc3339_times_are_read_to_the_millisecond, data::make(parse_cases), c) {
  const auto parsed = gatehouse::store::parse_rfc3339(c.text);
  if (c.ms < 0) {
    BOOST_TEST(!parsed.has_value());
  } else {
    BOOST_REQUIRE(parsed.has_value());
    BOOST_TEST(parsed->time_since_epoch().count() == c.ms);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
