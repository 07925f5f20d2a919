// The `gatehouse` command line (SPEC §8): the policy tools `check`, `decide` and `contains`,
// `serve`, `jwt` and `login-link` behind one entry point that reports every failure as an exit code
// and a message, never an exception.
#pragma once

#include <iosfwd>
#include <span>
#include <string>

namespace gatehouse::cli {

/// Exit codes shared by every subcommand.
inline constexpr int exit_ok = 0;
/// `check` found at least one error finding.
inline constexpr int exit_findings = 1;
/// Usage error, unreadable or invalid input.
inline constexpr int exit_bad_input = 2;
/// `contains` ran out of its work budget (SPEC §10): no answer, so nothing may be granted.
inline constexpr int exit_too_complex = 3;

/// Runs `gatehouse` with `args` (argv without the program name). Results go to `out`,
/// diagnostics and summaries to `err`; returns the process exit code.
[[nodiscard]] int run(std::span<const std::string> args, std::ostream& out, std::ostream& err);

}  // namespace gatehouse::cli
