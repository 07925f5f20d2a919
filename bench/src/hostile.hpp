// The hostile measurements: the slowest decisions and token creations that could be built within
// the size limits of SPEC §10, each timed and its answer checked (SPEC §9: a decision ≤ 1 ms, a
// token creation ≤ 100 ms).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace gatehouse::bench {

struct hostile_options {
  std::string policies_dir;
  /// Timed runs of each case; the median and the slowest are reported.
  std::size_t runs = 7;
};

struct hostile_case {
  std::string name;
  /// "decision", "token creation", or the policy author's route ("simulate", "validate",
  /// "preview").
  std::string kind;
  /// What the case builds, in a line.
  std::string shape;
  /// Bytes of the statements (as compact JSON) and of the request's resource name.
  std::size_t statement_bytes = 0;
  std::size_t resource_bytes = 0;
  /// The answer: a decision, or the HTTP status and code a token creation gets.
  std::string answer;
  double median_ms = 0;
  double max_ms = 0;
};

struct hostile_result {
  std::vector<hostile_case> cases;
  double worst_decision_ms = 0;
  double worst_creation_ms = 0;
  /// The slowest answer of a policy author's route (validate, simulate, preview).
  double worst_authoring_ms = 0;
  /// Answers that were not the expected ones (must be 0).
  std::size_t mismatches = 0;
};

struct run_times {
  double median_ms = 0;
  double max_ms = 0;
};

/// Runs `run` once to warm up, then `runs` times, timed.
template <class Run>
run_times time_runs(std::size_t runs, Run&& run) {
  using clock = std::chrono::steady_clock;
  run();  // warm-up: caches, lazily built tables
  std::vector<double> ms;
  for (std::size_t i = 0; i < runs; ++i) {
    const auto start = clock::now();
    run();
    ms.push_back(std::chrono::duration<double, std::milli>(clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms.back()};
}

/// Two path globs of `project/` and 1,024 bytes, `*A*B*A...*` and `*B*A*B...*`, whose
/// intersection has exponentially many parts: the worst two patterns a containment check meets.
struct star_patterns {
  std::string denied;
  std::string allowed;
};
[[nodiscard]] star_patterns interleaved_star_patterns();

/// The policy author's routes at their worst, through the HTTP handler as a member calls them
/// (hostile_authoring.cpp); answers that are not the expected ones count in `mismatches`.
[[nodiscard]] std::vector<hostile_case> authoring_cases(const hostile_options& options,
                                                        std::size_t& mismatches);

/// Builds and times every case. Progress goes to stderr. Throws std::runtime_error when a case
/// cannot be built within the limits or the service fails.
[[nodiscard]] hostile_result run_hostile(const hostile_options& options);

[[nodiscard]] std::string to_json(const hostile_result& r);

}  // namespace gatehouse::bench
