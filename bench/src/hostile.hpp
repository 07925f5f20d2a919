// The hostile measurements: the slowest decisions and token creations that could be built within
// the size limits of SPEC §10, each timed and its answer checked (SPEC §9: a decision ≤ 1 ms, a
// token creation ≤ 100 ms).
#pragma once

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
  /// "decision" or "token creation".
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
  /// Answers that were not the expected ones (must be 0).
  std::size_t mismatches = 0;
};

/// Builds and times every case. Progress goes to stderr. Throws std::runtime_error when a case
/// cannot be built within the limits or the service fails.
[[nodiscard]] hostile_result run_hostile(const hostile_options& options);

[[nodiscard]] std::string to_json(const hostile_result& r);

}  // namespace gatehouse::bench
