// ISO-8601 UTC times, written digit by digit: every request's access-log line starts with one.
#include <gatehouse/store/utc_time.hpp>

#include <array>
#include <cstddef>

namespace gatehouse::store {
namespace {

/// Writes `value` as `width` decimal digits, with leading zeros, at `out`; returns what follows.
char* put_digits(char* out, unsigned value, int width) noexcept {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  return out + width;
}

/// Reads `width` decimal digits at `text[at]`; none unless all are digits.
std::optional<unsigned> digits(std::string_view text, std::size_t at, std::size_t width) noexcept {
  if (at + width > text.size()) return std::nullopt;
  unsigned value = 0;
  for (std::size_t i = at; i < at + width; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(text[i] - '0');
  }
  return value;
}

}  // namespace

std::optional<std::chrono::sys_time<std::chrono::milliseconds>> parse_rfc3339(
    std::string_view text) noexcept {
  using namespace std::chrono;
  // yyyy-mm-ddThh:mm:ss is 19 characters; a fraction, then Z or +hh:mm, follow.
  if (text.size() < 20 || text.size() > 64 || text[4] != '-' || text[7] != '-' ||
      (text[10] != 'T' && text[10] != 't') || text[13] != ':' || text[16] != ':') {
    return std::nullopt;
  }
  const auto y = digits(text, 0, 4);
  const auto mo = digits(text, 5, 2);
  const auto d = digits(text, 8, 2);
  const auto h = digits(text, 11, 2);
  const auto mi = digits(text, 14, 2);
  const auto s = digits(text, 17, 2);
  if (!y || !mo || !d || !h || !mi || !s || *y == 0 || *h > 23 || *mi > 59 || *s > 60) {
    return std::nullopt;
  }
  const year_month_day date{year{static_cast<int>(*y)}, month{*mo}, day{*d}};
  if (!date.ok()) return std::nullopt;
  std::size_t at = 19;
  unsigned ms = 0;
  if (text[at] == '.') {
    constexpr std::array<unsigned, 3> place = {100, 10, 1};
    const std::size_t first = ++at;
    for (; at < text.size() && text[at] >= '0' && text[at] <= '9'; ++at) {
      if (at - first < place.size())
        ms += static_cast<unsigned>(text[at] - '0') * place[at - first];
    }
    if (at == first) return std::nullopt;
  }
  minutes offset{0};
  if (at + 1 == text.size() && (text[at] == 'Z' || text[at] == 'z')) {
    // UTC
  } else if (at + 6 == text.size() && (text[at] == '+' || text[at] == '-') && text[at + 3] == ':') {
    const auto oh = digits(text, at + 1, 2);
    const auto om = digits(text, at + 4, 2);
    if (!oh || !om || *oh > 23 || *om > 59) return std::nullopt;
    offset = hours{*oh} + minutes{*om};
    if (text[at] == '-') offset = -offset;
  } else {
    return std::nullopt;
  }
  // A leap second is the last millisecond of its minute: the time it names is not later.
  const auto second = *s == 60 ? milliseconds{59'999} : seconds{*s} + milliseconds{ms};
  return sys_days{date} + hours{*h} + minutes{*mi} + second - offset;
}

std::optional<std::int64_t> parse_time(std::string_view rfc3339) noexcept {
  const auto at = parse_rfc3339(rfc3339);
  if (!at) return std::nullopt;
  return at->time_since_epoch().count();
}

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

}  // namespace gatehouse::store
