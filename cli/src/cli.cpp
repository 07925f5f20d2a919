// The `gatehouse` command: the overview help, and the dispatch to a subcommand (commands.hpp)
// with the check that its output was written.
#include "cli.hpp"

#include "commands.hpp"

#include <algorithm>
#include <array>
#include <ostream>
#include <string_view>

namespace gatehouse::cli {
namespace {

constexpr std::string_view program_usage = R"(usage: gatehouse <command> [options]

Commands:
  check FILE...       validate policy files; findings as FILE:LINE:COL: SEVERITY CODE: MESSAGE
  decide --statements FILE --requests FILE.jsonl
                      evaluate requests, one JSON line per request
  contains --granted FILE --requested FILE
                      whether --requested allows nothing beyond --granted, with a counterexample
  serve [--data DIR] [--listen HOST:PORT] [--policies DIR] [--threads N]
                      run the HTTP service on a data directory (initialized on first start)
  jwt --data DIR --member EMAIL [--ttl 1h] [--jwt-issuer ISS] [--jwt-audience AUD]
                      print a JWT that acts as that member of the playground organization
  login-link --data DIR --member EMAIL [--base URL] [--ttl 8h]
                      print a link that signs that member into the web console
  audit --data DIR [--organization NAME] [--type TYPE] [--from TIME] [--to TIME] ...
                      print the audit trail of changes as JSON lines, oldest first

A policy FILE holds a policy document or a bare array of statements.
Run `gatehouse <command> --help` for a command's details.
Exit status: 0 success, 1 `check` found errors, 2 usage error or bad input.
)";

struct command {
  std::string_view name;
  int (*run)(std::span<const std::string> args, std::ostream& out, std::ostream& err);
};

constexpr std::array commands = {
    command{"check", run_check},       command{"decide", run_decide},
    command{"contains", run_contains}, command{"serve", run_serve},
    command{"jwt", run_jwt},           command{"login-link", run_login_link},
    command{"audit", run_audit},
};

}  // namespace

int run(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
  if (args.empty()) {
    err << program_usage;
    return exit_bad_input;
  }
  const std::string& name = args.front();
  if (name == "--help" || name == "-h") {
    out << program_usage;
    return exit_ok;
  }
  const auto* found = std::find_if(commands.begin(), commands.end(),
                                   [&name](const command& c) { return c.name == name; });
  if (found == commands.end()) {
    err << "gatehouse: unknown command '" << name << "'\n\n" << program_usage;
    return exit_bad_input;
  }
  const int code = found->run(args.subspan(1), out, err);
  // Output is buffered; a failure to write it (full disk, closed pipe) must not pass for success.
  out.flush();
  if (!out) {
    err << "gatehouse " << name << ": cannot write the output\n";
    return exit_bad_input;
  }
  return code;
}

}  // namespace gatehouse::cli
