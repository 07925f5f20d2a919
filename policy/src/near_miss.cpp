// Near-miss suggestions: "did you mean ...?" for a name one or two slips away from a known one.
#include "near_miss.hpp"

#include "message_text.hpp"

#include <gatehouse/policy/text.hpp>

#include <algorithm>
#include <optional>

namespace gatehouse::policy::detail {
namespace {

// Levenshtein distance, case-insensitive so that a case slip counts as a near miss.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      const std::size_t substitution =
          diagonal + (fold_ascii(a[i - 1]) == fold_ascii(b[j - 1]) ? 0 : 1);
      row[j] = std::min({above + 1, row[j - 1] + 1, substitution});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The candidate closest to `name`, if it is close enough to be a plausible typo.
std::optional<std::string_view> nearest_name(std::string_view name,
                                             const std::vector<std::string_view>& candidates) {
  constexpr std::size_t longest_compared = 64;  // keeps the quadratic distance cheap
  if (name.empty() || name.size() > longest_compared) return std::nullopt;
  std::optional<std::string_view> best;
  std::size_t best_distance = std::max<std::size_t>(2, name.size() / 3) + 1;
  for (const std::string_view candidate : candidates) {
    const std::size_t d = edit_distance(name, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

}  // namespace

std::string did_you_mean(std::string_view name, const std::vector<std::string_view>& candidates) {
  const auto best = nearest_name(name, candidates);
  return best ? "; did you mean " + quote(*best) + "?" : std::string{};
}

}  // namespace gatehouse::policy::detail
