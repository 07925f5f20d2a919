// Random UUIDs and their text form.
#include "ids.hpp"

#include <openssl/rand.h>

namespace gatehouse::iam {

std::optional<uuid> random_uuid() {
  uuid u{};
  if (RAND_bytes(u.data(), static_cast<int>(u.size())) != 1) return std::nullopt;
  u[6] = static_cast<unsigned char>((u[6] & 0x0f) | 0x40);  // version 4
  u[8] = static_cast<unsigned char>((u[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return u;
}

std::string format_uuid(const uuid& u) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out(36, '-');
  std::size_t at = 0;
  for (std::size_t i = 0; i < u.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) ++at;
    out[at++] = hex[u[i] >> 4];
    out[at++] = hex[u[i] & 0xf];
  }
  return out;
}

namespace {

/// The value of one hex digit, or -1.
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<uuid> parse_uuid(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  uuid u{};
  std::size_t byte = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return std::nullopt;
      continue;
    }
    const int v = hex_value(text[i]);
    if (v < 0) return std::nullopt;
    u[byte / 2] = static_cast<unsigned char>(byte % 2 == 0 ? v << 4 : u[byte / 2] | v);
    ++byte;
  }
  return u;
}

outcome<std::string> new_id() {
  const auto u = random_uuid();
  if (!u) return failure(errc::randomness_unavailable, "no random id");
  return format_uuid(*u);
}

}  // namespace gatehouse::iam
