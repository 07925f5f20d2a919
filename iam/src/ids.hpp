// Ids of organizations, members, groups, policies and tokens: random version-4 UUIDs, kept as 16
// bytes in the token index and as their 36-character text everywhere else; and the clock they
// are stamped with.
#pragma once

#include <gatehouse/iam/errors.hpp>
#include <gatehouse/store/records.hpp>

#include <array>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace gatehouse::iam {

using uuid = std::array<unsigned char, 16>;

/// Milliseconds since the epoch. Inline: token authentication stamps every use with it.
inline store::timestamp now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

/// A random version-4 UUID, or none when the system has no randomness to give.
[[nodiscard]] std::optional<uuid> random_uuid();

/// The lowercase 8-4-4-4-12 text of `u`.
[[nodiscard]] std::string format_uuid(const uuid& u);

/// The UUID `text` spells in 8-4-4-4-12 form, in either case; none for anything else.
[[nodiscard]] std::optional<uuid> parse_uuid(std::string_view text);

/// The text of a new random UUID.
[[nodiscard]] outcome<std::string> new_id();

}  // namespace gatehouse::iam
