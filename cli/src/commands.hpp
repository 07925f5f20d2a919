// The subcommands of `gatehouse`, each run with its arguments (after the command name): results
// to `out`, diagnostics to `err`, the exit code returned.
#pragma once

#include <iosfwd>
#include <span>
#include <string>

namespace gatehouse::cli {

/// `check FILE...`: the findings of each policy file (policy_commands.cpp).
[[nodiscard]] int run_check(std::span<const std::string> args, std::ostream& out,
                            std::ostream& err);
/// `decide`: one verdict per request line (policy_commands.cpp).
[[nodiscard]] int run_decide(std::span<const std::string> args, std::ostream& out,
                             std::ostream& err);
/// `contains`: whether one statement set stays within another (policy_commands.cpp).
[[nodiscard]] int run_contains(std::span<const std::string> args, std::ostream& out,
                               std::ostream& err);
/// `serve`: the HTTP service on a data directory (serve_command.cpp).
[[nodiscard]] int run_serve(std::span<const std::string> args, std::ostream& out,
                            std::ostream& err);
/// `jwt`: a member JWT for local use (jwt_command.cpp).
[[nodiscard]] int run_jwt(std::span<const std::string> args, std::ostream& out, std::ostream& err);
/// `audit`: the audit trail as JSON lines (audit_command.cpp).
[[nodiscard]] int run_audit(std::span<const std::string> args, std::ostream& out,
                            std::ostream& err);
/// `login-link`: a console sign-in link for a member (jwt_command.cpp).
[[nodiscard]] int run_login_link(std::span<const std::string> args, std::ostream& out,
                                 std::ostream& err);

}  // namespace gatehouse::cli
