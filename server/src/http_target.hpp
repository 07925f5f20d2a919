// Request targets: the path as percent-decoded segments, and the query string as percent-decoded
// parameters with typed, validated look-ups (`pageIndex_is_invalid` and the like).
#pragma once

#include <gatehouse/iam/errors.hpp>

#include <boost/container/small_vector.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gatehouse::server {

/// Percent-decodes `text`; `+` becomes a space in query components (HTML forms, as ASP.NET and
/// so FeatBit read them). Nullopt for a `%` not followed by two hex digits.
[[nodiscard]] std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);

class query_parameters {
 public:
  query_parameters() = default;
  explicit query_parameters(std::vector<std::pair<std::string, std::string>> items)
      : items_(std::move(items)) {}

  /// The value of `name`, nullopt when absent. A parameter given twice is `{name}_is_invalid`:
  /// which of the two was meant cannot be known.
  [[nodiscard]] iam::outcome<std::optional<std::string_view>> find(std::string_view name) const;

  /// A decimal number in [min, max], `fallback` when absent; anything else (signs, spaces,
  /// overflow) is `{name}_is_invalid`.
  [[nodiscard]] iam::outcome<std::size_t> number(std::string_view name, std::size_t fallback,
                                                 std::size_t min, std::size_t max) const;

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

struct request_target {
  /// Path segments after the leading `/`, each percent-decoded on its own (so `%2F` stays inside
  /// its segment). `/a/b/` has a last, empty segment. The API's paths have at most 6, and short
  /// ones fit in their strings: parsing a decision's target allocates nothing.
  boost::container::small_vector<std::string, 6> segments;
  query_parameters query;
};

/// Splits an origin-form target (`/path?query`). Fails with not_found when the path is not
/// absolute or has a malformed escape, and with `query_is_invalid` for a malformed query.
[[nodiscard]] iam::outcome<request_target> parse_target(std::string_view target);

}  // namespace gatehouse::server
