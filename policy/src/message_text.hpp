// How findings word what they point at: user values quoted and cut short, JSON pointer tokens,
// the names of JSON types and of locations in a document.
#pragma once

#include "json_access.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::policy::detail {

/// `token` escaped for a JSON pointer (RFC 6901): `~` as `~0`, `/` as `~1`.
[[nodiscard]] std::string escape_pointer_token(std::string_view token);

/// A user-supplied value quoted for a message: escaped, and cut short so that a huge string does
/// not make a huge message.
[[nodiscard]] std::string quote(std::string_view value);

/// `names` quoted, separated by ", ".
[[nodiscard]] std::string join_quoted(const std::vector<std::string_view>& names);

/// Characters in UTF-8 `text`: every byte that is not a continuation byte starts one.
[[nodiscard]] std::size_t utf8_length(std::string_view text);

/// "a string", "an array", ...: what a message calls the type of `v`.
[[nodiscard]] const char* json_type_name(const json_value& v);

/// The last token of a JSON pointer, as written (still escaped).
[[nodiscard]] std::string last_token(std::string_view pointer);

/// How a message names the value at `pointer`: `"effect"`, `entry 2 of "actions"`.
[[nodiscard]] std::string describe_location(std::string_view pointer);

}  // namespace gatehouse::policy::detail
