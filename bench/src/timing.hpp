// Timing harness: calls grouped into batches long enough for std::chrono::steady_clock to
// resolve, each batch divided by its size, summarised as per-call median and p99 over batches.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <vector>

namespace gatehouse::bench {

/// Keeps the optimiser from discarding a computed value without costing an instruction.
template <typename T>
inline void keep(const T& value) noexcept {
  asm volatile("" : : "r,m"(value) : "memory");
}

/// How long one measurement may run.
struct timing_limits {
  /// Most timed batches; the `--iterations` of the command line.
  std::size_t max_batches = 5'000;
  /// Fewest timed batches, even past the budget, so that a median exists.
  std::size_t min_batches = 11;
  /// Fewest warm-up batches; warm-up also runs for a tenth of the budget.
  std::size_t warmup_batches = 3;
  /// Wall-clock budget for the timed batches (warm-up not included).
  std::chrono::nanoseconds budget = std::chrono::milliseconds(1'000);
  /// A batch grows until it takes at least this long: one decision (~50-300 ns) is too short
  /// for the clock, whose own cost is ~20 ns.
  std::chrono::nanoseconds batch_target = std::chrono::microseconds(20);
};

/// Per-call figures of one measurement.
struct timing {
  double median_ns = 0;
  double p99_ns = 0;
  double mean_ns = 0;
  double min_ns = 0;
  std::size_t batch_size = 0;
  std::size_t batches = 0;
  /// Timed calls, batches times batch size.
  std::size_t calls = 0;
};

/// The index of the nearest-rank percentile `fraction` (0-1] in a sorted sample of `size` > 0.
std::size_t nearest_rank(std::size_t size, double fraction);

/// Median, p99, mean and minimum of per-call times; `per_call_ns` is reordered.
timing summarise(std::vector<double>& per_call_ns);

/// Times `call(i)` for i cycling over [0, items). The first batches calibrate the batch size
/// and warm caches and branch predictors; only the later ones are summarised.
template <typename Call>
timing time_calls(std::size_t items, Call&& call, const timing_limits& limits) {
  using clock = std::chrono::steady_clock;
  std::size_t next = 0;
  auto run_batch = [&](std::size_t size) {
    const auto start = clock::now();
    for (std::size_t i = 0; i < size; ++i) {
      call(next);
      if (++next == items) next = 0;
    }
    return clock::now() - start;
  };

  // A first pass over (up to 256) items, so that calibration does not see cold caches.
  const auto cold_until = clock::now() + limits.budget / 20;
  for (std::size_t i = 0; i < std::min<std::size_t>(items, 256) && clock::now() < cold_until; ++i) {
    run_batch(1);
  }
  // Calibration: grow a probe batch until it takes a quarter of the target, then size batches
  // from the fastest of three probes of that size.
  constexpr std::size_t max_batch_size = std::size_t{1} << 20;
  std::size_t probe = 1;
  auto probe_time = run_batch(probe);
  while (probe < max_batch_size && probe_time < limits.batch_target / 4) {
    probe *= 4;
    probe_time = run_batch(probe);
  }
  for (int i = 0; i < 2; ++i) probe_time = std::min(probe_time, run_batch(probe));
  const double per_call =
      std::chrono::duration<double, std::nano>(probe_time).count() / static_cast<double>(probe);
  const double target = std::chrono::duration<double, std::nano>(limits.batch_target).count();
  const std::size_t batch_size = std::clamp<std::size_t>(
      static_cast<std::size_t>(std::ceil(target / std::max(per_call, 1.0))), 1, max_batch_size);
  const auto warm_until = clock::now() + limits.budget / 10;
  for (std::size_t i = 0; i < limits.warmup_batches || clock::now() < warm_until; ++i) {
    run_batch(batch_size);
  }

  std::vector<double> per_call_ns;
  per_call_ns.reserve(limits.max_batches);
  const auto stop_at = clock::now() + limits.budget;
  while (per_call_ns.size() < limits.max_batches &&
         (per_call_ns.size() < limits.min_batches || clock::now() < stop_at)) {
    const std::chrono::duration<double, std::nano> elapsed = run_batch(batch_size);
    per_call_ns.push_back(elapsed.count() / static_cast<double>(batch_size));
  }
  timing t = summarise(per_call_ns);
  t.batch_size = batch_size;
  t.batches = per_call_ns.size();
  t.calls = t.batches * batch_size;
  return t;
}

/// Times each `call()` on its own, for calls long enough for the clock (compiling, containment).
/// The call's result is destroyed after the clock stops, so tearing down a compiled structure
/// is not counted as compiling it.
template <typename Call>
timing time_each(Call&& call, const timing_limits& limits) {
  using clock = std::chrono::steady_clock;
  const auto warm_until = clock::now() + limits.budget / 10;
  for (std::size_t i = 0; i < limits.warmup_batches || clock::now() < warm_until; ++i) {
    keep(call());
  }
  std::vector<double> per_call_ns;
  per_call_ns.reserve(limits.max_batches);
  const auto stop_at = clock::now() + limits.budget;
  while (per_call_ns.size() < limits.max_batches &&
         (per_call_ns.size() < limits.min_batches || clock::now() < stop_at)) {
    const auto start = clock::now();
    const auto result = call();
    const std::chrono::duration<double, std::nano> elapsed = clock::now() - start;
    keep(result);
    per_call_ns.push_back(elapsed.count());
  }
  timing t = summarise(per_call_ns);
  t.batch_size = 1;
  t.batches = t.calls = per_call_ns.size();
  return t;
}

}  // namespace gatehouse::bench
