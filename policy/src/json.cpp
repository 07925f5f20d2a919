// Strict JSON parsing: RapidJSON's iterative parser with encoding validation, then the checks it
// does not make itself.
#include <gatehouse/policy/json.hpp>

#include <rapidjson/encodings.h>
#include <rapidjson/error/en.h>

#include <algorithm>
#include <vector>

namespace gatehouse::policy {

namespace {

/// Bytes of a string as a RapidJSON input stream, for UTF8<>::Validate.
struct byte_stream {
  using Ch = char;
  const char* at;
  const char* end;
  [[nodiscard]] Ch Peek() const noexcept { return at < end ? *at : '\0'; }
  Ch Take() noexcept { return at < end ? *at++ : '\0'; }
};

struct discard_stream {
  using Ch = char;
  void Put(Ch /*c*/) noexcept {}
};

/// Whether `text` is well-formed UTF-8 without surrogates. The parser validates the bytes of the
/// body, but a `\udc00` escape decodes to a lone surrogate it lets through; what the API stores
/// and echoes must be valid UTF-8, or its own answers would not be JSON.
bool utf8_ok(std::string_view text) noexcept {
  byte_stream in{text.data(), text.data() + text.size()};
  discard_stream out;
  while (in.at < in.end) {
    if (!rapidjson::UTF8<>::Validate(in, out)) return false;
  }
  return true;
}

bool valid_string(const rapidjson::Value& v) noexcept {
  return utf8_ok({v.GetString(), v.GetStringLength()});
}

/// Checks what the parser does not: nesting depth, string encoding and duplicate keys. Recursion
/// is bounded by `max_json_depth`; the parse itself is iterative.
const char* check_value(const rapidjson::Value& v, std::size_t depth) {
  if (v.IsString()) return valid_string(v) ? nullptr : "Invalid encoding in string.";
  if (!v.IsObject() && !v.IsArray()) return nullptr;
  if (depth >= max_json_depth) return "Nesting is too deep.";
  if (v.IsArray()) {
    for (const auto& item : v.GetArray()) {
      if (const char* why = check_value(item, depth + 1)) return why;
    }
    return nullptr;
  }
  // Two members with one name are read differently by different parsers (first or last wins);
  // refusing them leaves no doubt which value was meant.
  std::vector<std::string_view> keys;
  keys.reserve(v.MemberCount());
  for (const auto& m : v.GetObject()) {
    if (!valid_string(m.name)) return "Invalid encoding in object key.";
    keys.emplace_back(m.name.GetString(), m.name.GetStringLength());
    if (const char* why = check_value(m.value, depth + 1)) return why;
  }
  std::sort(keys.begin(), keys.end());
  if (std::adjacent_find(keys.begin(), keys.end()) != keys.end()) return "Duplicate object key.";
  return nullptr;
}

}  // namespace

bool valid_utf8(std::string_view text) noexcept { return utf8_ok(text); }

std::optional<json_parse_error> parse_json(std::string_view text, rapidjson::Document& doc) {
  // RapidJSON stops at a NUL as at the end of its input, so text after one would be ignored.
  if (const auto nul = text.find('\0'); nul != std::string_view::npos) {
    return json_parse_error{nul, "NUL byte in the body."};
  }
  // Iterative: a body of a million `[` must not exhaust the stack. No kParseStopWhenDoneFlag:
  // anything after the value is an error.
  constexpr unsigned flags = rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag;
  doc.Parse<flags>(text.data(), text.size());
  if (doc.HasParseError()) {
    return json_parse_error{doc.GetErrorOffset(), rapidjson::GetParseError_En(doc.GetParseError())};
  }
  if (const char* why = check_value(doc, 0)) return json_parse_error{0, why};
  return std::nullopt;
}

}  // namespace gatehouse::policy
