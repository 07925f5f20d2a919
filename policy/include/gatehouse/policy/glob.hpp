// Glob matching of resource-name paths and tags: `*` matches any run of bytes (none included),
// every other byte only itself.
#pragma once

#include <gatehouse/policy/limits.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace gatehouse::policy {

/// A glob taken apart once, to be matched against many texts: the literal head before its first
/// star, what lies between its first and its last star, and the literal tail after its last. A
/// glob without a star is all head.
struct glob_parts {
  std::string_view head;
  std::string_view middle;
  std::string_view tail;
  bool starred = false;

  [[nodiscard]] static glob_parts of(std::string_view glob) noexcept;
};

/// `glob_match` for a glob already taken apart.
[[nodiscard]] bool glob_match(const glob_parts& glob, std::string_view text) noexcept;

/// A glob prepared once to be matched against many short texts (the tags of a name): its parts,
/// and the search tables of the pieces between its stars, so that each text costs only its own
/// length. About 2 KiB, for the stack. Holds views into the glob.
class prepared_glob {
 public:
  explicit prepared_glob(std::string_view glob) noexcept;
  [[nodiscard]] bool matches(std::string_view text) const noexcept;

 private:
  struct piece {
    std::uint16_t offset;
    std::uint16_t size;
  };
  glob_parts parts_;
  /// The pieces between the stars of `parts_.middle`, by offset and size, in order.
  std::array<piece, max_pattern_bytes / 2 + 1> pieces_;
  std::size_t piece_count_ = 0;
  /// Per byte of `parts_.middle`, the border of its piece so far (Knuth-Morris-Pratt).
  std::array<std::uint16_t, max_pattern_bytes> borders_;
  /// False for a glob beyond the pattern limit, which is then matched as `glob_match` does.
  bool prepared_ = false;
};

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
