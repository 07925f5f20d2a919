// Glob matching of resource-name paths and tags: `*` matches any run of bytes (none included),
// every other byte only itself.
#pragma once

#include <cstddef>
#include <string_view>

namespace gatehouse::policy {

/// Whether `pattern` matches the whole of `text`. The literal head and tail are compared in
/// place, and the pieces between stars are found left to right, each at its leftmost place after
/// the one before (which is optimal for `*`, so nothing is ever retried). Each piece is found by
/// Knuth-Morris-Pratt, so the cost is linear in |pattern| + |text| for patterns within
/// `max_pattern_bytes`, which is all that compiles. Allocation-free.
[[nodiscard]] bool glob_match(std::string_view pattern, std::string_view text) noexcept;

/// The fewest bytes a text that `pattern` matches can have: its bytes other than `*`.
[[nodiscard]] std::size_t glob_min_length(std::string_view pattern) noexcept;

}  // namespace gatehouse::policy
