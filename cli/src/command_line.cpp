// Argument parsing shared by the subcommands, and the flag values they read: durations and
// listen addresses.
#include "command_line.hpp"

#include "cli.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <ostream>
#include <system_error>
#include <vector>

namespace gatehouse::cli {
namespace {

struct duration_unit {
  std::string_view name;
  std::uint64_t ms;
};

/// The units of a DURATION, largest first.
constexpr std::array<duration_unit, 5> duration_units = {{
    {"d", 24ULL * 60 * 60 * 1000},
    {"h", 60ULL * 60 * 1000},
    {"m", 60ULL * 1000},
    {"s", 1000},
    {"ms", 1},
}};

}  // namespace

po::options_description options_with_help() {
  po::options_description options("Options");
  options.add_options()("help,h", "print this help and exit");
  return options;
}

parsed_arguments parse_arguments(std::string_view command, std::string_view usage,
                                 const po::options_description& visible,
                                 const po::options_description& hidden,
                                 const po::positional_options_description& positional,
                                 std::span<const std::string> args, std::ostream& out,
                                 std::ostream& err) {
  po::options_description all;
  all.add(visible).add(hidden);
  // Abbreviated option names are refused so that a script never depends on a prefix that a
  // later option could make ambiguous.
  constexpr int style =
      po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
  parsed_arguments parsed;
  try {
    po::store(po::command_line_parser(std::vector<std::string>(args.begin(), args.end()))
                  .options(all)
                  .positional(positional)
                  .style(style)
                  .run(),
              parsed.values);
    if (parsed.values.count("help") != 0) {
      out << usage << '\n' << visible;
      parsed.exit = exit_ok;
      return parsed;
    }
    po::notify(parsed.values);
  } catch (const po::error& e) {
    parsed.exit = usage_error(err, command, usage, e.what());
  }
  return parsed;
}

int usage_error(std::ostream& err, std::string_view command, std::string_view usage,
                std::string_view message) {
  err << "gatehouse " << command << ": " << message << "\n\n" << usage;
  return exit_bad_input;
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  std::uint64_t count = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), count);
  if (ec != std::errc{} || end == text.data() || count == 0) return std::nullopt;
  const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  const auto* found = std::find_if(duration_units.begin(), duration_units.end(),
                                   [unit](const duration_unit& u) { return u.name == unit; });
  if (found == duration_units.end()) return std::nullopt;
  // Ten years is more than any timeout or token lifetime needs, and far from overflow.
  constexpr std::uint64_t max_ms = 10ULL * 366 * 24 * 60 * 60 * 1000;
  if (count > max_ms / found->ms) return std::nullopt;
  return std::chrono::milliseconds(static_cast<std::int64_t>(count * found->ms));
}

std::string format_duration(std::chrono::milliseconds duration) {
  const auto ms = static_cast<std::uint64_t>(duration.count());
  const auto* unit = std::find_if(duration_units.begin(), duration_units.end(),
                                  [ms](const duration_unit& u) { return ms % u.ms == 0; });
  return std::to_string(ms / unit->ms) + std::string(unit->name);
}

std::optional<std::pair<std::string, std::uint16_t>> parse_listen(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  std::uint16_t port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port_text.empty() ||
      host.empty()) {
    return std::nullopt;
  }
  return std::pair{std::string(host), port};
}

std::string count_of(std::size_t n, std::string_view noun) {
  std::string text = std::to_string(n) + ' ';
  text += noun;
  if (n != 1) text += 's';
  return text;
}

}  // namespace gatehouse::cli
