// The hash of gatehouse's open-addressed name tables (the action catalogue, the engine's literal
// path segments): every decision hashes its action and its resource name's segments, so the hash
// costs the same whatever a name's length.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace gatehouse::policy {

/// The first (up to) eight bytes of `text`, zero-padded, as a native-endian number.
[[nodiscard]] inline std::uint64_t first_bytes(std::string_view text) noexcept {
  std::uint64_t out = 0;
  if (!text.empty()) std::memcpy(&out, text.data(), std::min<std::size_t>(8, text.size()));
  return out;
}

/// A hash of `text` from its length and its first and last eight bytes. Names that agree there
/// collide, and are told apart by the comparison that follows every hash match. Folding the high
/// half down before and after the one multiply lets every input bit reach the low bits a table
/// index uses, so tables stay even for families of names that differ only in their last byte
/// (`flag/checkout-12`, `-13`, ...); a plain multiply would leave the last bytes out of them.
[[nodiscard]] inline std::uint64_t name_hash(std::string_view text) noexcept {
  std::uint64_t tail = 0;
  if (text.size() >= 8) std::memcpy(&tail, text.data() + text.size() - 8, 8);
  std::uint64_t x = first_bytes(text) ^ (tail * 0x9e3779b97f4a7c15ULL) ^ text.size();
  x ^= x >> 32;
  x *= 0xd6e8feb86659fd93ULL;
  return x ^ (x >> 32);
}

}  // namespace gatehouse::policy
