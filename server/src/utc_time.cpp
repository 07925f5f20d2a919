// ISO-8601 UTC times, written digit by digit: every request's access-log line starts with one.
#include "utc_time.hpp"

#include <cstddef>

namespace gatehouse::server {
namespace {

/// Writes `value` as `width` decimal digits, with leading zeros, at `out`; returns what follows.
char* put_digits(char* out, unsigned value, int width) noexcept {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  return out + width;
}

}  // namespace

// Calendar arithmetic with std::chrono, not gmtime_r: glibc's takes a process-wide lock that the
// I/O threads would contend for on every request.
std::array<char, 24> utc_time(std::chrono::sys_time<std::chrono::milliseconds> t) noexcept {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const year_month_day date(day);
  const hh_mm_ss time(t - day);
  std::array<char, 24> text{};
  char* out = put_digits(text.data(), static_cast<unsigned>(static_cast<int>(date.year())), 4);
  *out++ = '-';
  out = put_digits(out, static_cast<unsigned>(date.month()), 2);
  *out++ = '-';
  out = put_digits(out, static_cast<unsigned>(date.day()), 2);
  *out++ = 'T';
  out = put_digits(out, static_cast<unsigned>(time.hours().count()), 2);
  *out++ = ':';
  out = put_digits(out, static_cast<unsigned>(time.minutes().count()), 2);
  *out++ = ':';
  out = put_digits(out, static_cast<unsigned>(time.seconds().count()), 2);
  *out++ = '.';
  out = put_digits(out, static_cast<unsigned>(time.subseconds().count()), 3);
  *out = 'Z';
  return text;
}

}  // namespace gatehouse::server
