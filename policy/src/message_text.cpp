// How findings word what they point at: quoting user values, pointer tokens, type and location
// names.
#include "message_text.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

namespace gatehouse::policy::detail {
namespace {

/// User values quoted in messages are cut to this many bytes.
constexpr std::size_t max_quoted_bytes = 80;

}  // namespace

std::string escape_pointer_token(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (const char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::string quote(std::string_view value) {
  std::string out = "\"";
  const std::size_t n = std::min(value.size(), max_quoted_bytes);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      std::array<char, 8> buf{};
      std::snprintf(buf.data(), buf.size(), "\\u%04x", c);
      out += buf.data();
    } else {
      out += static_cast<char>(c);
    }
  }
  if (n < value.size()) out += "...";
  out += '"';
  return out;
}

std::string join_quoted(const std::vector<std::string_view>& names) {
  std::string out;
  for (const std::string_view name : names) {
    if (!out.empty()) out += ", ";
    out += quote(name);
  }
  return out;
}

std::size_t utf8_length(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

const char* json_type_name(const json_value& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType:
      return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType:
      return "a boolean";
    case rapidjson::kObjectType:
      return "an object";
    case rapidjson::kArrayType:
      return "an array";
    case rapidjson::kStringType:
      return "a string";
    case rapidjson::kNumberType:
      return "a number";
  }
  return "a value";
}

std::string last_token(std::string_view pointer) {
  const std::size_t slash = pointer.rfind('/');
  return std::string(slash == std::string_view::npos ? pointer : pointer.substr(slash + 1));
}

std::string describe_location(std::string_view pointer) {
  if (pointer.empty()) return "the document";
  const std::string token = last_token(pointer);
  if (!token.empty() && token.find_first_not_of("0123456789") == std::string::npos) {
    const std::string_view parent = pointer.substr(0, pointer.rfind('/'));
    return "entry " + token + (parent.empty() ? "" : " of " + quote(last_token(parent)));
  }
  return quote(token);
}

}  // namespace gatehouse::policy::detail
