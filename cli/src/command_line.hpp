// Reading a subcommand's command line (Boost.Program_options, with --help and usage errors
// answered alike by every command), the values flags take (durations, HOST:PORT), and the few
// phrases the commands' messages share.
#pragma once

#include <boost/program_options.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace gatehouse::cli {

namespace po = boost::program_options;

/// Why a key, or a flag's value, cannot be used: one line for the operator.
struct problem {
  std::string message;
};

/// A value, or the problem that stands in its way.
template <class T>
using loaded = boost::system::result<T, problem>;

/// A subcommand's parsed arguments, or the exit code when parsing already finished the command
/// (help printed, or a usage error reported).
struct parsed_arguments {
  po::variables_map values;
  std::optional<int> exit;
};

/// The options every command has: --help.
[[nodiscard]] po::options_description options_with_help();

/// Parses `args` of `gatehouse COMMAND`. With --help, prints `usage` and the `visible` options to
/// `out`; on a usage error, says what is wrong and prints `usage` to `err`.
[[nodiscard]] parsed_arguments parse_arguments(std::string_view command, std::string_view usage,
                                               const po::options_description& visible,
                                               const po::options_description& hidden,
                                               const po::positional_options_description& positional,
                                               std::span<const std::string> args, std::ostream& out,
                                               std::ostream& err);

/// Says `gatehouse COMMAND: MESSAGE` and then `usage` on `err`; the exit code of a usage error.
int usage_error(std::ostream& err, std::string_view command, std::string_view usage,
                std::string_view message);

/// "500ms", "10s", "5m", "1h", "2d" -> a positive duration. Units are required: a bare number
/// would be ambiguous between the flags that take seconds and a reader who thinks minutes.
[[nodiscard]] std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

/// A positive duration as parse_duration reads it, in the largest unit that holds it whole:
/// 10s, not 10000ms. For the defaults shown in a command's help.
[[nodiscard]] std::string format_duration(std::chrono::milliseconds duration);

/// "HOST:PORT", "[::1]:PORT" -> host and port.
[[nodiscard]] std::optional<std::pair<std::string, std::uint16_t>> parse_listen(
    std::string_view text);

/// "1 file", "3 errors".
[[nodiscard]] std::string count_of(std::size_t n, std::string_view noun);

}  // namespace gatehouse::cli
