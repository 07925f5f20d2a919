// Timing harness: calls grouped into batches long enough for std::chrono::steady_clock to
// resolve, each batch divided by its size, summarised as per-call median and p99 over batches.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <tuple>
#include <type_traits>
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

/// Runs `call(i)` for i cycling over [0, items) in batches, and keeps each timed batch's time
/// per call. The constructor calibrates the batch size after a first pass that warms caches and
/// branch predictors.
template <typename Call>
class batch_timer {
 public:
  using clock = std::chrono::steady_clock;

  batch_timer(std::size_t items, Call& call, const timing_limits& limits)
      : items_(items), call_(call), limits_(limits) {
    // A first pass over (up to 256) items, so that calibration does not see cold caches.
    const auto cold_until = clock::now() + limits.budget / 20;
    for (std::size_t i = 0; i < std::min<std::size_t>(items, 256) && clock::now() < cold_until;
         ++i) {
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
    batch_size_ = std::clamp<std::size_t>(
        static_cast<std::size_t>(std::ceil(target / std::max(per_call, 1.0))), 1, max_batch_size);
    per_call_ns_.reserve(limits.max_batches);
  }

  /// Warms up for a tenth of `span` (and at least the limits' warm-up batches), then times
  /// batches for `span`, at most `batches` of them and short of the most batches in all.
  void take_turn(std::chrono::nanoseconds span, std::size_t batches) {
    const auto warm_until = clock::now() + span / 10;
    for (std::size_t i = 0; i < limits_.warmup_batches || clock::now() < warm_until; ++i) {
      run_batch(batch_size_);
    }
    const std::size_t stop_after = std::min(limits_.max_batches, per_call_ns_.size() + batches);
    const auto stop_at = clock::now() + span;
    while (per_call_ns_.size() < stop_after && clock::now() < stop_at) time_batch();
  }

  /// Times batches until there are the fewest the limits ask for.
  void top_up() {
    while (per_call_ns_.size() < limits_.min_batches) time_batch();
  }

  [[nodiscard]] timing summary() {
    timing t = summarise(per_call_ns_);
    t.batch_size = batch_size_;
    t.batches = per_call_ns_.size();
    t.calls = t.batches * batch_size_;
    return t;
  }

 private:
  clock::duration run_batch(std::size_t size) {
    const auto start = clock::now();
    for (std::size_t i = 0; i < size; ++i) {
      call_(next_);
      if (++next_ == items_) next_ = 0;
    }
    return clock::now() - start;
  }

  void time_batch() {
    const std::chrono::duration<double, std::nano> elapsed = run_batch(batch_size_);
    per_call_ns_.push_back(elapsed.count() / static_cast<double>(batch_size_));
  }

  std::size_t items_;
  Call& call_;
  const timing_limits& limits_;
  std::size_t next_ = 0;
  std::size_t batch_size_ = 1;
  std::vector<double> per_call_ns_;
};

/// Times `call(i)` for i cycling over [0, items): warm-up for a tenth of the budget, then timed
/// batches for the budget; only those are summarised.
template <typename Call>
timing time_calls(std::size_t items, Call&& call, const timing_limits& limits) {
  batch_timer<std::remove_reference_t<Call>> timer(items, call, limits);
  timer.take_turn(limits.budget, limits.max_batches);
  timer.top_up();
  return timer.summary();
}

/// Times each of `calls` as time_calls does, but in turns: each runs (warm-up, then timed
/// batches) for `turn`, then hands over to the next, until each has been timed for the budget.
/// Each turn takes its share of the most batches, so that every turn counts. The host's slow
/// stretches and other processes then weigh on all of them alike, so that their figures can be
/// compared with each other.
template <typename... Calls>
std::array<timing, sizeof...(Calls)> time_calls_in_turns(std::size_t items,
                                                         std::chrono::nanoseconds turn,
                                                         const timing_limits& limits,
                                                         Calls&&... calls) {
  std::tuple<batch_timer<std::remove_reference_t<Calls>>...> timers{
      batch_timer<std::remove_reference_t<Calls>>(items, calls, limits)...};
  const std::size_t turns = std::max<std::size_t>(1, limits.budget / turn);
  const std::size_t share = (limits.max_batches + turns - 1) / turns;
  for (std::size_t t = 0; t < turns; ++t) {
    std::apply([&](auto&... timer) { (timer.take_turn(turn, share), ...); }, timers);
  }
  return std::apply(
      [](auto&... timer) {
        (timer.top_up(), ...);
        return std::array<timing, sizeof...(Calls)>{timer.summary()...};
      },
      timers);
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
