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

/// Whether matching path glob `glob` scans the path: a piece of two bytes or more between two
/// stars (`*web*`, `a*bc*d`) is searched for along it. A literal, `*`, a prefix (`abc*`) or its
/// ends alone (`*-beta`, `a*b`) are compared in place, and a one-byte piece is found by memchr.
[[nodiscard]] bool scans_path(std::string_view glob) noexcept;

/// Whether matching tag glob `glob` scans the tags of a name: every glob but a literal, `*` or a
/// prefix (`beta*`), which are looked up among the sorted tags.
[[nodiscard]] bool scans_tags(std::string_view glob) noexcept;

}  // namespace gatehouse::policy
