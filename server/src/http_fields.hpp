// Reading request header values: the optional whitespace around them and the comma-separated
// lists some of them are (RFC 9110 §5.6), as the credential, ETag and version headers need.
#pragma once

#include <string_view>

namespace gatehouse::server {

/// `s` without the spaces and tabs around it.
[[nodiscard]] inline std::string_view trim_ows(std::string_view s) noexcept {
  constexpr std::string_view blanks = " \t";
  const auto first = s.find_first_not_of(blanks);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(blanks) - first + 1);
}

/// Passes each item of the comma-separated `list`, trimmed, to `visit`, in order, empty ones
/// included.
template <class Visit>
void for_each_item(std::string_view list, Visit&& visit) {
  for (;;) {
    const auto comma = list.find(',');
    visit(trim_ows(list.substr(0, comma)));
    if (comma == std::string_view::npos) return;
    list.remove_prefix(comma + 1);
  }
}

}  // namespace gatehouse::server
