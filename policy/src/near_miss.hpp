// Near-miss suggestions: "did you mean ...?" for a name one or two slips away from a known one.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::policy::detail {

/// "; did you mean "X"?" for the candidate nearest to `name` by edit distance (ASCII case
/// slips count as near), or nothing when none is close enough to be a plausible typo.
[[nodiscard]] std::string did_you_mean(std::string_view name,
                                       const std::vector<std::string_view>& candidates);

}  // namespace gatehouse::policy::detail
