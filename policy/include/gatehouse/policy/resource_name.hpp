// Resource-name (RN) patterns: the grammar of SPEC §2.2 and the parsed form the engine compiles.
#pragma once

#include <boost/assert/source_location.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace gatehouse::policy {

/// One segment of a pattern: a path glob (`*` matches any run of characters) and optional tag
/// globs. An empty `tags` means the segment ignores the resource's tags.
struct segment_pattern {
  std::string path;
  std::vector<std::string> tags;

  friend bool operator==(const segment_pattern&, const segment_pattern&) = default;
};

/// A parsed RN pattern: one or more segments. Fewer segments than a resource name makes it a
/// prefix that matches every descendant.
struct resource_pattern {
  std::vector<segment_pattern> segments;

  friend bool operator==(const resource_pattern&, const resource_pattern&) = default;
};

/// Why an RN pattern failed to parse.
enum class rn_errc {
  /// The pattern is empty.
  empty = 1,
  /// A segment between two `:` (or at either end) is empty.
  empty_segment,
  /// A segment's path has no `/` separating type and key (only a bare `*` may omit it).
  missing_slash,
  /// A segment's path ends in `/`: the key is missing.
  trailing_slash,
  /// A segment's path starts with `/`: the type is missing.
  missing_type,
  /// A tag between `;`/`,` separators is empty.
  empty_tag,
  /// A character that an RN cannot hold (whitespace, control characters, or a second `;`).
  invalid_character,
};

const boost::system::error_category& rn_category() noexcept;
inline boost::system::error_code make_error_code(rn_errc e) noexcept {
  return {static_cast<int>(e), rn_category()};
}

/// A parse failure with the byte offset in the pattern where it was detected.
struct rn_error {
  rn_errc code;
  std::size_t offset;
};

/// Lets `result<…, rn_error>::value()` throw: a `boost::system::system_error` carrying the code
/// and offset. Load paths check the result instead of calling `value()` on a failure.
[[noreturn]] void throw_exception_from_error(const rn_error& e, const boost::source_location& loc);

/// Parses `text` with the Spirit X3 grammar of SPEC §2.2.
[[nodiscard]] boost::system::result<resource_pattern, rn_error> parse_resource_pattern(
    std::string_view text);

/// The validation finding code of `e` (policy/README.md): "rn-empty-segment", ...
[[nodiscard]] std::string_view finding_code(rn_errc e);

/// Renders a pattern back to its text form; `parse_resource_pattern(to_string(p)) == p`.
[[nodiscard]] std::string to_string(const resource_pattern& pattern);

/// The scanning globs of `pattern`: its segment paths that scan (`scans_path`) and its tag globs
/// that scan (`scans_tags`), each counted once per place it holds.
[[nodiscard]] std::size_t scanning_globs(const resource_pattern& pattern) noexcept;

}  // namespace gatehouse::policy

namespace boost::system {
template <>
struct is_error_code_enum<gatehouse::policy::rn_errc> : std::true_type {};
}  // namespace boost::system
