// Request targets: percent-decoding, path segments and query parameters.
#include "http_target.hpp"

#include <charconv>
#include <system_error>

namespace gatehouse::server {

namespace {

using iam::errc;
using iam::failure;

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

failure invalid(std::string_view name) { return {errc::field_invalid, iam::field_named(name)}; }

}  // namespace

// Written by hand rather than with Boost.URL: its compiled library (libboost-url1.81-dev) is not
// among the project's packages, and the grammar needed here (RFC 3986 percent-encoding and the
// form `+`) is a dozen lines.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  // Most segments and parameters hold nothing to decode.
  if (text.find_first_of(plus_is_space ? "%+" : "%") == std::string_view::npos) {
    return std::string(text);
  }
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int high = hex_value(text[i + 1]);
      const int low = hex_value(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out += static_cast<char>(high * 16 + low);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

iam::outcome<std::optional<std::string_view>> query_parameters::find(std::string_view name) const {
  std::optional<std::string_view> found;
  for (const auto& [key, value] : items_) {
    if (key != name) continue;
    if (found) return invalid(name);
    found = value;
  }
  return found;
}

iam::outcome<std::size_t> query_parameters::number(std::string_view name, std::size_t fallback,
                                                   std::size_t min, std::size_t max) const {
  const auto text = find(name);
  if (!text) return text.error();
  if (!*text) return fallback;
  const std::string_view digits = **text;
  std::size_t value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  // from_chars accepts a leading '-' for unsigned types only to fail; require digits throughout.
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() ||
      digits.front() < '0' || digits.front() > '9' || value < min || value > max) {
    return invalid(name);
  }
  return value;
}

iam::outcome<request_target> parse_target(std::string_view target) {
  const auto query_start = target.find('?');
  const std::string_view path = target.substr(0, query_start);
  if (path.empty() || path.front() != '/') return failure(errc::not_found, "path");

  request_target out;
  std::string_view rest = path.substr(1);
  while (true) {
    const auto slash = rest.find('/');
    auto segment = percent_decode(rest.substr(0, slash), false);
    if (!segment) return failure(errc::not_found, "path");
    out.segments.push_back(std::move(*segment));
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }

  if (query_start == std::string_view::npos) return out;
  std::vector<std::pair<std::string, std::string>> items;
  std::string_view query = target.substr(query_start + 1);
  // A fragment is never sent by clients; should one arrive, it is not part of the query.
  query = query.substr(0, query.find('#'));
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (!pair.empty()) {
      const auto eq = pair.find('=');
      auto key = percent_decode(pair.substr(0, eq), true);
      auto value = percent_decode(
          eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
      if (!key || !value) return failure(errc::field_invalid, iam::field::query);
      items.emplace_back(std::move(*key), std::move(*value));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  out.query = query_parameters(std::move(items));
  return out;
}

}  // namespace gatehouse::server
