// Strict JSON, as every text gatehouse reads from a caller is parsed: one value with nothing after
// it, valid UTF-8 (in the bytes and in what `\u` escapes make), no NUL byte, no key twice in one
// object, and a bounded nesting depth. And the one compact writer every JSON answer is written
// with.
#pragma once

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace gatehouse::policy {

/// Nesting depth any JSON gatehouse reads may have. A policy document needs three levels, a
/// request body with statements four; the bound keeps every later recursive walk (serialization,
/// validation) far from the stack's end.
inline constexpr std::size_t max_json_depth = 32;

/// Why a text is not acceptable JSON; `offset` is in bytes from its start.
struct json_parse_error {
  std::size_t offset = 0;
  std::string message;
};

/// Parses `text` strictly (see above) into `doc`; iterative, so that depth costs no stack.
[[nodiscard]] std::optional<json_parse_error> parse_json(std::string_view text,
                                                         rapidjson::Document& doc);

/// Whether `text` is well-formed UTF-8 without surrogates: what a `\u` escape may not decode to
/// (a lone surrogate), though the parser lets it through.
[[nodiscard]] bool valid_utf8(std::string_view text) noexcept;

/// The compact writer of every JSON text gatehouse produces.
using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

/// `text` as one JSON string (RapidJSON escapes it; the length is explicit, so NUL bytes stay).
inline void write_string(json_writer& w, std::string_view text) {
  w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

}  // namespace gatehouse::policy
