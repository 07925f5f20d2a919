// Times as the API's JSON and the operator's log lines write them: ISO-8601 in UTC, to the
// millisecond.
#pragma once

#include <array>
#include <chrono>

namespace gatehouse::server {

/// `t` as 2024-05-01T12:00:00.123Z, for years 0 to 9999 (always 24 characters).
[[nodiscard]] std::array<char, 24> utc_time(
    std::chrono::sys_time<std::chrono::milliseconds> t) noexcept;

}  // namespace gatehouse::server
