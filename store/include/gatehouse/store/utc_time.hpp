// Times as the API's JSON, the audit trail and the operator's log lines write them: ISO-8601 in
// UTC, to the millisecond; and the RFC 3339 times a request or a command line may carry.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace gatehouse::store {

/// `t` as 2024-05-01T12:00:00.123Z, for years 0 to 9999 (always 24 characters).
[[nodiscard]] std::array<char, 24> utc_time(
    std::chrono::sys_time<std::chrono::milliseconds> t) noexcept;

/// What a field that takes a time expects, for its error message.
inline constexpr std::string_view rfc3339_expected =
    "an RFC 3339 time, such as 2027-01-31T00:00:00Z";

/// The instant an RFC 3339 date-time names (`2026-12-31T23:59:59Z`, `2026-12-31T23:59:59.5+09:00`;
/// `T` and `Z` in either case), to the millisecond (further digits are dropped), for years 0001
/// to 9999; none for anything else, an impossible date included. A leap second `:60` is the
/// last millisecond of its minute.
[[nodiscard]] std::optional<std::chrono::sys_time<std::chrono::milliseconds>> parse_rfc3339(
    std::string_view text) noexcept;

/// The same instant in milliseconds since the epoch, as records keep times.
[[nodiscard]] std::optional<std::int64_t> parse_time(std::string_view rfc3339) noexcept;

}  // namespace gatehouse::store
