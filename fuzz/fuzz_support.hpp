// What every fuzz target shares: its input as text, and the check that stops the run where a
// property fails (libFuzzer then keeps the input that did it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace gatehouse::fuzzing {

/// The fuzzer's bytes, as the text the target reads.
[[nodiscard]] inline std::string_view text_of(const std::uint8_t* data, std::size_t size) noexcept {
  return {reinterpret_cast<const char*>(data), size};
}

/// Stops the run unless `condition` holds, saying which property failed.
inline void require(bool condition, const char* what = "a property does not hold") noexcept {
  if (!condition) {
    std::fprintf(stderr, "fuzz: %s\n", what);
    std::abort();
  }
}

}  // namespace gatehouse::fuzzing
