// The `gatehouse` command line (SPEC §8): the policy tools `check`, `decide` and `contains` behind
// one entry point that reports every failure as an exit code and a message, never an exception.
#pragma once

#include <iosfwd>
#include <span>
#include <string>

namespace gatehouse::cli {

/// Exit codes shared by every subcommand.
inline constexpr int exit_ok = 0;
/// `check` found at least one error finding.
inline constexpr int exit_findings = 1;
/// Usage error, unreadable or invalid input, or a check the engine could not complete.
inline constexpr int exit_bad_input = 2;

/// Runs `gatehouse` with `args` (argv without the program name). Results go to `out`,
/// diagnostics and summaries to `err`; returns the process exit code.
[[nodiscard]] int run(std::span<const std::string> args, std::ostream& out, std::ostream& err);

}  // namespace gatehouse::cli
