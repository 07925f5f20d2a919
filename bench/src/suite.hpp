// The built-in sweep: generated workloads of growing size, every measurement, a table on stderr
// and result files for the README and the plot.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace gatehouse::bench {

struct suite_options {
  /// Where results.json, decide.csv and summary.txt go; empty prints results.json to stdout.
  std::string out_dir;
  std::uint64_t seed = 1;
  std::size_t requests = 1'000;
  std::vector<std::size_t> sizes = {10, 100, 1'000, 10'000};
  /// Time budget of one timed measurement; the sweep makes about 20 of them per round.
  std::chrono::milliseconds budget{1'000};
  /// Sweeps; each row reports its best round (see `sweep` in suite.cpp).
  std::size_t rounds = 3;
  /// The command line, recorded in results.json.
  std::string command;
};

/// Runs the sweep; 0 when every check passed, 1 when an evaluator disagreed with the reference
/// or containment answered wrongly.
int run_suite(const suite_options& options);

}  // namespace gatehouse::bench
