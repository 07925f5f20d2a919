// Summary statistics of timed batches.
#include "timing.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace gatehouse::bench {

std::size_t nearest_rank(std::size_t size, double fraction) {
  const auto rank = static_cast<std::size_t>(std::ceil(fraction * static_cast<double>(size)));
  return std::clamp<std::size_t>(rank, 1, size) - 1;
}

timing summarise(std::vector<double>& per_call_ns) {
  timing t;
  if (per_call_ns.empty()) return t;
  std::sort(per_call_ns.begin(), per_call_ns.end());
  const auto n = per_call_ns.size();
  t.median_ns = n % 2 == 1 ? per_call_ns[n / 2] : (per_call_ns[n / 2 - 1] + per_call_ns[n / 2]) / 2;
  t.p99_ns = per_call_ns[nearest_rank(n, 0.99)];
  t.mean_ns = std::accumulate(per_call_ns.begin(), per_call_ns.end(), 0.0) / static_cast<double>(n);
  t.min_ns = per_call_ns.front();
  return t;
}

}  // namespace gatehouse::bench
