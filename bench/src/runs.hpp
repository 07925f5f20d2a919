// The three measurements (decide, contains, compile), shared by the subcommands and the suite,
// and their JSON form.
#pragma once

#include "timing.hpp"

#include <gatehouse/engine/compiled_policy.hpp>
#include <gatehouse/engine/containment.hpp>

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace gatehouse::bench {

struct decide_settings {
  timing_limits engine;
  timing_limits reference;
};

struct decide_result {
  std::size_t statements = 0;
  std::size_t requests = 0;
  std::size_t node_count = 0;
  std::size_t allows = 0;
  std::size_t explicit_denies = 0;
  std::size_t implicit_denies = 0;
  /// `evaluate` with a 64-entry buffer for determining statements: the full decision.
  timing engine;
  /// `decide`: the decision alone.
  timing decide_only;
  /// `engine::reference::evaluate`, the naive scan.
  timing reference;
  /// `evaluate` per request: each request repeated alone (best of 5 runs of 32 calls, so warm),
  /// then the median, p99 and maximum over requests. Unlike the batch p99 this is the spread of
  /// the request mix, free of the machine's interruptions.
  double request_p50_ns = 0;
  double request_p99_ns = 0;
  double request_max_ns = 0;
  std::optional<engine::request> slowest_request;
  /// Determining statements per request (mean, most), from the check pass: `evaluate` must
  /// name them all, so its cost grows with them while `decide` can stop at the first.
  double determining_mean = 0;
  std::size_t determining_max = 0;
  /// Requests on which the two evaluators differ (decision or determining statements).
  std::size_t disagreements = 0;
  /// The first few of them, described.
  std::vector<std::string> disagreement_examples;
};

/// Checks that the compiled structure and the reference agree on every request, then times both.
/// Timing is skipped (left zero) when they disagree: a wrong answer has no speed worth knowing.
[[nodiscard]] decide_result run_decide(std::span<const engine::sourced_statement> statements,
                                       const engine::compiled_policy& compiled,
                                       std::span<const engine::request> requests,
                                       const decide_settings& settings);

struct contains_result {
  std::size_t granted = 0;
  std::size_t requested = 0;
  bool contained = false;
  std::optional<engine::request> counterexample;
  /// Whether the reference evaluator confirms the counterexample (requested allows it, granted
  /// does not); true when there is none.
  bool counterexample_confirmed = true;
  /// Set when `contains` failed (too complex); no timing then.
  std::string error;
  timing time;
};

[[nodiscard]] contains_result run_contains(std::span<const engine::sourced_statement> granted,
                                           std::span<const engine::sourced_statement> requested,
                                           const timing_limits& limits);

struct compile_result {
  std::size_t statements = 0;
  std::size_t node_count = 0;
  timing time;
};

[[nodiscard]] compile_result run_compile(std::span<const engine::sourced_statement> statements,
                                         const timing_limits& limits);

/// One-line JSON objects, as the subcommands print them.
[[nodiscard]] std::string to_json(const decide_result& r);
[[nodiscard]] std::string to_json(const contains_result& r);
[[nodiscard]] std::string to_json(const compile_result& r);

}  // namespace gatehouse::bench
