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
  // Fixed-size loads only: a copy of a variable size is a library call, and a decision takes
  // the first bytes of several names. Loads that overlap read the same bytes twice, which OR
  // together unchanged.
  const char* p = text.data();
  const std::size_t n = text.size();
  if (n >= 8) {
    std::uint64_t out;
    std::memcpy(&out, p, 8);
    return out;
  }
  if (n >= 4) {
    std::uint32_t low;
    std::uint32_t high;
    std::memcpy(&low, p, 4);
    std::memcpy(&high, p + n - 4, 4);
    return low | (std::uint64_t{high} << (8 * (n - 4)));
  }
  if (n == 0) return 0;
  const auto byte = [&](std::size_t i) {
    return std::uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
  };
  return byte(0) | byte(n / 2) | byte(n - 1);
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
