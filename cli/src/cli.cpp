// The `gatehouse` command: argument parsing (Boost.Program_options); the policy tools `check`,
// `decide` and `contains` with their JSON input and output (RapidJSON); `serve`, which runs the
// HTTP service on a data directory with its member-JWT keys, and `jwt`, which mints a member JWT
// for local use.
#include "cli.hpp"

#include <gatehouse/engine/compiled_policy.hpp>
#include <gatehouse/engine/containment.hpp>
#include <gatehouse/iam/jwt.hpp>
#include <gatehouse/policy/document.hpp>
#include <gatehouse/server/http_service.hpp>
#include <gatehouse/server/listener.hpp>
#include "data_directory.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <boost/program_options.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <ostream>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

namespace gatehouse::cli {
namespace {

namespace po = boost::program_options;

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

A policy FILE holds a policy document or a bare array of statements.
Run `gatehouse <command> --help` for a command's details.
Exit status: 0 success, 1 `check` found errors, 2 usage error or bad input.
)";

constexpr std::string_view check_usage = R"(usage: gatehouse check [--json] [--stored] FILE...

Loads each FILE (a policy document or a bare array of statements) and prints its findings,
one per line:
  FILE:LINE:COL: SEVERITY CODE: MESSAGE
The limits of a whole policy (1,000 statements, 64 globs that scan a name) are warnings, as a
file may hold more; with --stored they are errors, as saving the policy to the service would
refuse it.
With --json, prints instead one JSON array holding the findings of all files, in order:
  [{"file", "line", "column", "severity", "code", "message", "pointer"}, ...]
A one-line summary goes to standard error.
Exit status: 0 when no file has an error (warnings allowed), 1 when any has, 2 on usage error.
)";

constexpr std::string_view decide_usage =
    R"(usage: gatehouse decide --statements FILE --requests FILE.jsonl

Evaluates the requests of FILE.jsonl, one JSON object per line such as
  {"action": "ToggleFlag", "resource": "project/web:env/prod:flag/dark-mode"}
(other keys are ignored, blank lines skipped; /dev/stdin reads a pipe), against the statements
of FILE (a policy document or a bare array of statements). Prints one line per request, in order:
  {"decision": "allow"|"explicit_deny"|"implicit_deny", "statements": [ids]}
naming the determining statements: the matching denies of a deny, the matching allows of an allow.
Exit status: 0 when every request was evaluated, 2 on usage error or bad input. A malformed
request line stops the run; the lines for the requests before it have been printed.
)";

constexpr std::string_view contains_usage =
    R"(usage: gatehouse contains --granted FILE --requested FILE

Checks that every request the statements of --requested allow is also allowed by those of
--granted, over all action and resource names: the cap on a new access token's scope. Prints
  {"contained": true|false, "counterexample": {"action", "resource"} | null}
where a counterexample is a request that --requested allows and --granted does not.
Exit status: 0 either way, 2 on usage error or bad input, 3 when the check needs more work than
its budget allows (no answer: treat it as not contained).
)";

constexpr std::string_view serve_usage =
    R"(usage: gatehouse serve [--data DIR] [--listen HOST:PORT] [--policies DIR] [options]

Serves the HTTP API (decisions, access tokens, IAM, /healthz, /metrics) on the data directory DIR.
An empty or missing DIR is initialized first: server keys (mode 0600), the SQLite database, the
organization "playground" and its owner owner@example.com with the Owner policy.
Member JWTs are verified with DIR's HS256 key (mint one with `gatehouse jwt`), or with the host
application's RS256 or ES256 public keys, as --jwt-alg says: one key for every token with
--jwt-public-key, or with --jwt-key-dir one per file named KID.pem, chosen by the token's `kid`
header (a token without `kid` only while there is one key). --jwt-issuer and --jwt-audience make
`iss` and `aud` required claims that must match (`aud` may be an array). `exp`, `nbf` and `iat`
are allowed 30 s of clock skew.
Prints `listening on HOST:PORT` once ready, then one access-log line per request:
  TIME REMOTE METHOD PATH?QUERY-KEYS STATUS DURATIONus SUBJECT
Signals: SIGTERM or SIGINT stop accepting, let the requests in flight finish and exit 0 (a second
one exits 1 at once); SIGHUP reloads the built-in policies from --policies and the keys of
--jwt-key-dir, each keeping the old set if the new one fails to load or, for keys, is empty; one
log line says what happened to each. DURATION is a number and a unit: 500ms, 10s, 5m, 1h, 2d.
Exit status: 0 after a graceful stop, 1 after a forced one, 2 when the server cannot start.
)";

constexpr std::string_view jwt_usage =
    R"(usage: gatehouse jwt --data DIR --member EMAIL [--ttl DURATION]
                     [--jwt-issuer ISS] [--jwt-audience AUD]

Prints a member JWT (HS256, signed with the key of the data directory DIR) for the member EMAIL
of the playground organization, valid for DURATION (30m, 1h, 2d; default 1h). Use it as
`Authorization: Bearer JWT`. Works while a server runs on DIR. --jwt-issuer and --jwt-audience
put `iss` and `aud` into the token, for a server started with the same flags.
Exit status: 0 success, 2 on usage error, no data directory at DIR, or no such member.
)";

// ---- Arguments ----------------------------------------------------------------------------

/// A subcommand's parsed arguments, or the exit code when parsing already finished the command
/// (help printed, or a usage error reported).
struct parsed_arguments {
  po::variables_map values;
  std::optional<int> exit;
};

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
    err << "gatehouse " << command << ": " << e.what() << "\n\n" << usage;
    parsed.exit = exit_bad_input;
  }
  return parsed;
}

// ---- JSON output ----------------------------------------------------------------------------

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

void write_string(json_writer& writer, std::string_view text) {
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

/// Writes the finished JSON value in `buffer` as one line and empties the buffer for the next.
void write_line(rapidjson::StringBuffer& buffer, std::ostream& out) {
  out.write(buffer.GetString(), static_cast<std::streamsize>(buffer.GetSize()));
  out.put('\n');
  buffer.Clear();
}

std::string_view to_string(policy::severity s) noexcept {
  return s == policy::severity::error ? "error" : "warning";
}

void write_finding(json_writer& writer, std::string_view file, const policy::finding& f) {
  writer.StartObject();
  writer.Key("file");
  write_string(writer, file);
  writer.Key("line");
  writer.Uint64(f.line);
  writer.Key("column");
  writer.Uint64(f.column);
  writer.Key("severity");
  write_string(writer, to_string(f.severity));
  writer.Key("code");
  write_string(writer, f.code);
  writer.Key("message");
  write_string(writer, f.message);
  writer.Key("pointer");
  write_string(writer, f.pointer);
  writer.EndObject();
}

/// "1 file", "3 errors".
std::string count_of(std::size_t n, std::string_view noun) {
  std::string text = std::to_string(n) + ' ';
  text += noun;
  if (n != 1) text += 's';
  return text;
}

// ---- Loading statements -----------------------------------------------------------------------

/// Loads the policy file `path` and compiles its statements. Its findings, warnings included, go
/// to `err`; on failure this says why, naming the file, and returns null.
std::shared_ptr<const engine::compiled_policy> load_compiled(std::string_view command,
                                                             const std::string& path,
                                                             std::ostream& err) {
  auto loaded = policy::load_policy_file(path);
  for (const auto& f : loaded.findings) err << policy::format_finding(path, f) << '\n';
  if (!loaded.ok()) {
    const auto errors =
        std::count_if(loaded.findings.begin(), loaded.findings.end(),
                      [](const auto& f) { return f.severity == policy::severity::error; });
    err << "gatehouse " << command << ": '" << path << "' does not load ("
        << count_of(static_cast<std::size_t>(errors), "error") << ")\n";
    return nullptr;
  }
  // A bare statement array has no policy id; the file name stands in for it in diagnostics.
  const std::string policy_id = loaded.document->id.empty() ? path : loaded.document->id;
  std::vector<engine::sourced_statement> statements;
  statements.reserve(loaded.document->statements.size());
  for (auto& s : loaded.document->statements) statements.push_back({policy_id, std::move(s)});
  auto compiled = engine::compiled_policy::compile(statements);
  if (!compiled) {
    err << "gatehouse " << command << ": '" << path
        << "' does not compile: " << engine::describe(compiled.error(), statements) << '\n';
    return nullptr;
  }
  return std::move(*compiled);
}

// ---- check ----------------------------------------------------------------------------------

int run_check(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
  po::options_description visible = options_with_help();
  visible.add_options()("json", po::bool_switch(), "print the findings as one JSON array")(
      "stored", po::bool_switch(),
      "hold each file to what the service stores: the policy-wide limits are errors");
  po::options_description hidden;
  hidden.add_options()("file", po::value<std::vector<std::string>>(), "policy file");
  po::positional_options_description positional;
  positional.add("file", -1);
  const auto parsed =
      parse_arguments("check", check_usage, visible, hidden, positional, args, out, err);
  if (parsed.exit) return *parsed.exit;
  if (parsed.values.count("file") == 0) {
    err << "gatehouse check: no FILE given\n\n" << check_usage;
    return exit_bad_input;
  }
  const auto& files = parsed.values["file"].as<std::vector<std::string>>();
  const bool json = parsed.values["json"].as<bool>();
  const policy::load_options options =
      parsed.values["stored"].as<bool>() ? policy::stored_policy : policy::load_options{};

  rapidjson::StringBuffer buffer;
  json_writer writer(buffer);
  if (json) writer.StartArray();
  std::size_t errors = 0;
  std::size_t warnings = 0;
  for (const auto& file : files) {
    const auto loaded = policy::load_policy_file(file, options);
    for (const auto& f : loaded.findings) {
      ++(f.severity == policy::severity::error ? errors : warnings);
      if (json) {
        write_finding(writer, file, f);
      } else {
        out << policy::format_finding(file, f) << '\n';
      }
    }
  }
  if (json) {
    writer.EndArray();
    write_line(buffer, out);
  }
  err << count_of(files.size(), "file") << ", " << count_of(errors, "error") << ", "
      << count_of(warnings, "warning") << '\n';
  return errors == 0 ? exit_ok : exit_findings;
}

// ---- decide ---------------------------------------------------------------------------------

/// Why a request line is unusable; `column` is 0 when the problem is not at one place.
struct request_error {
  std::size_t column = 0;
  std::string message;
};

/// Reads one request line into `doc`; on success `action` and `resource` view into `doc`.
std::optional<request_error> read_request(const std::string& line, rapidjson::Document& doc,
                                          std::string_view& action, std::string_view& resource) {
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(line.data(), line.size());
  if (doc.HasParseError()) {
    return request_error{doc.GetErrorOffset() + 1,
                         std::string("invalid JSON: ") + GetParseError_En(doc.GetParseError())};
  }
  if (!doc.IsObject()) {
    return request_error{0, R"(a request must be an object {"action": …, "resource": …})"};
  }
  const auto string_member = [&doc](const char* key) -> std::optional<std::string_view> {
    const auto it = doc.FindMember(key);
    if (it == doc.MemberEnd() || !it->value.IsString()) return std::nullopt;
    return std::string_view(it->value.GetString(), it->value.GetStringLength());
  };
  const auto found_action = string_member("action");
  if (!found_action) return request_error{0, R"("action" must be a string)"};
  const auto found_resource = string_member("resource");
  if (!found_resource) return request_error{0, R"("resource" must be a string)"};
  action = *found_action;
  resource = *found_resource;
  return std::nullopt;
}

int run_decide(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
  po::options_description visible = options_with_help();
  visible.add_options()("statements", po::value<std::string>()->required()->value_name("FILE"),
                        "policy document or statement array to evaluate against")(
      "requests", po::value<std::string>()->required()->value_name("FILE.jsonl"),
      "requests, one JSON object per line");
  const auto parsed = parse_arguments("decide", decide_usage, visible, {}, {}, args, out, err);
  if (parsed.exit) return *parsed.exit;
  const auto& statements_path = parsed.values["statements"].as<std::string>();
  const auto& requests_path = parsed.values["requests"].as<std::string>();

  const auto compiled = load_compiled("decide", statements_path, err);
  if (!compiled) return exit_bad_input;
  std::ifstream requests(requests_path);
  if (!requests) {
    err << "gatehouse decide: cannot open requests file '" << requests_path
        << "': " << std::generic_category().message(errno) << '\n';
    return exit_bad_input;
  }

  // Most decisions have a handful of determining statements; a verdict that does not fit is
  // evaluated again with room for every statement, which always fits.
  std::vector<std::uint32_t> determining(std::min<std::size_t>(compiled->statements().size(), 16));
  rapidjson::Document request;
  rapidjson::StringBuffer buffer;
  json_writer writer(buffer);
  std::string line;
  for (std::size_t line_number = 1; std::getline(requests, line); ++line_number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::string_view action;
    std::string_view resource;
    if (const auto error = read_request(line, request, action, resource)) {
      err << "gatehouse decide: " << requests_path << ':' << line_number << ':';
      if (error->column != 0) err << error->column << ':';
      err << ' ' << error->message << '\n';
      return exit_bad_input;
    }
    auto verdict = compiled->evaluate(action, resource, determining);
    if (verdict.truncated) {
      determining.resize(compiled->statements().size());
      verdict = compiled->evaluate(action, resource, determining);
    }
    writer.Reset(buffer);
    writer.StartObject();
    writer.Key("decision");
    write_string(writer, engine::to_string(verdict.decision));
    writer.Key("statements");
    writer.StartArray();
    for (std::uint32_t i = 0; i < verdict.written; ++i) {
      write_string(writer, compiled->statement(determining[i]).statement_id);
    }
    writer.EndArray();
    writer.EndObject();
    write_line(buffer, out);
  }
  if (requests.bad()) {
    err << "gatehouse decide: cannot read requests file '" << requests_path << "'\n";
    return exit_bad_input;
  }
  return exit_ok;
}

// ---- contains -------------------------------------------------------------------------------

int run_contains(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
  po::options_description visible = options_with_help();
  visible.add_options()("granted", po::value<std::string>()->required()->value_name("FILE"),
                        "the statements that set the limit")(
      "requested", po::value<std::string>()->required()->value_name("FILE"),
      "the statements that must stay within it");
  const auto parsed = parse_arguments("contains", contains_usage, visible, {}, {}, args, out, err);
  if (parsed.exit) return *parsed.exit;
  const auto& granted_path = parsed.values["granted"].as<std::string>();
  const auto& requested_path = parsed.values["requested"].as<std::string>();

  // Both files are loaded before giving up so that one run reports the problems of both.
  const auto granted = load_compiled("contains", granted_path, err);
  const auto requested = load_compiled("contains", requested_path, err);
  if (!granted || !requested) return exit_bad_input;
  const auto checked = engine::contains(*granted, *requested);
  if (!checked) {
    err << "gatehouse contains: cannot check '" << requested_path << "' against '" << granted_path
        << "': " << checked.error().message() << '\n';
    return exit_too_complex;
  }

  rapidjson::StringBuffer buffer;
  json_writer writer(buffer);
  writer.StartObject();
  writer.Key("contained");
  writer.Bool(checked->contained);
  writer.Key("counterexample");
  if (checked->counterexample) {
    writer.StartObject();
    writer.Key("action");
    write_string(writer, checked->counterexample->action);
    writer.Key("resource");
    write_string(writer, checked->counterexample->resource);
    writer.EndObject();
  } else {
    writer.Null();
  }
  writer.EndObject();
  write_line(buffer, out);
  return exit_ok;
}

// ---- serve and jwt --------------------------------------------------------------------------

constexpr std::string_view default_data_dir = "./data";
constexpr std::string_view default_listen = "127.0.0.1:8080";

/// "500ms", "10s", "5m", "1h", "2d" -> a positive duration. Units are required: a bare number
/// would be ambiguous between the flags that take seconds and a reader who thinks minutes.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  std::uint64_t count = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), count);
  if (ec != std::errc{} || end == text.data() || count == 0) return std::nullopt;
  const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  std::uint64_t unit_ms = 0;
  if (unit == "ms") {
    unit_ms = 1;
  } else if (unit == "s") {
    unit_ms = 1000;
  } else if (unit == "m") {
    unit_ms = 60ULL * 1000;
  } else if (unit == "h") {
    unit_ms = 60ULL * 60 * 1000;
  } else if (unit == "d") {
    unit_ms = 24ULL * 60 * 60 * 1000;
  } else {
    return std::nullopt;
  }
  // Ten years is more than any timeout or token lifetime needs, and far from overflow.
  constexpr std::uint64_t max_ms = 10ULL * 366 * 24 * 60 * 60 * 1000;
  if (count > max_ms / unit_ms) return std::nullopt;
  return std::chrono::milliseconds(static_cast<std::int64_t>(count * unit_ms));
}

/// "HOST:PORT", "[::1]:PORT" -> host and port.
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

/// How to run this executable again, for the getting-started text: relative to the working
/// directory when it lies below it (`build/bin/gatehouse`), else the absolute path.
std::string program_path() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "gatehouse";
  const auto relative = self.lexically_proximate(std::filesystem::current_path(ec));
  if (ec || relative.empty() || *relative.begin() == "..") return self.string();
  // A bare name would be looked up in PATH by the shell.
  if (!relative.has_parent_path()) return "./" + relative.string();
  return relative.string();
}

/// The built-in policies: those compiled in, or those of `dir` when --policies names one; says
/// why not on `err`.
std::optional<std::vector<policy::policy_document>> load_builtins(std::string_view command,
                                                                  const std::string& dir,
                                                                  std::ostream& err) {
  if (dir.empty()) return iam::embedded_builtin_policies();
  auto loaded = iam::load_builtin_policies(dir);
  if (!loaded) {
    err << "gatehouse " << command
        << ": cannot load the built-in policies: " << loaded.error().detail << '\n';
    return std::nullopt;
  }
  return std::move(*loaded);
}

/// SIGHUP: loads the built-in policies of `dir` again and swaps them in whole, or keeps the old
/// ones. Catches what it calls: the listener must go on waiting for signals after a failed reload.
server::reload_outcome reload_builtins(iam::service& iam, const std::string& dir) {
  constexpr std::string_view kept = "built-in policies not reloaded, the old ones stay: ";
  if (dir.empty()) return {true, "built-in policies compiled in, unchanged (no --policies)"};
  try {
    auto loaded = iam::load_builtin_policies(dir);
    if (!loaded) return {false, std::string(kept) + loaded.error().detail};
    const auto count = loaded->size();
    if (auto replaced = iam.replace_builtins(std::move(*loaded)); !replaced) {
      return {false, std::string(kept) + replaced.error().detail};
    }
    return {true, "reloaded " + count_of(count, "built-in policy file") + " from " + dir};
  } catch (const std::exception& e) {
    return {false, std::string(kept) + e.what()};
  }
}

// ---- Member JWT keys ----------------------------------------------------------------------

/// Why a key, or a flag's value, cannot be used: one line for the operator.
struct problem {
  std::string message;
};

/// A value, or the problem that stands in its way.
template <class T>
using loaded = boost::system::result<T, problem>;

/// How `serve` verifies member JWTs, as its command line said.
struct jwt_settings {
  /// Of --jwt-public-key or of every key of --jwt-key-dir; DIR's key is always HS256.
  iam::jwt_algorithm algorithm = iam::jwt_algorithm::hs256;
  std::string public_key_file;  // --jwt-public-key: one key, whatever the token's `kid`
  std::string key_dir;          // --jwt-key-dir: KID.pem files, read again on SIGHUP
  iam::jwt_claim_rules rules;
};

std::string_view key_requirement(iam::jwt_algorithm algorithm) {
  return algorithm == iam::jwt_algorithm::es256
             ? "a P-256 public key in PEM, as --jwt-alg ES256 says"
             : "an RSA public key of 2048 bits or more in PEM, as --jwt-alg RS256 says";
}

/// Reads a PEM public key file; the key is public, but a huge file is certainly not one.
loaded<std::string> read_key_file(const std::string& path) {
  constexpr std::uintmax_t max_key_file_bytes = 64ULL * 1024;
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return problem{"cannot read '" + path + "': " + ec.message()};
  if (size > max_key_file_bytes) return problem{"'" + path + "' is larger than 64 KiB"};
  std::ifstream in(path, std::ios::binary);
  std::string key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in && !in.eof()) return problem{"cannot read '" + path + "'"};
  // Said outright: a string could make a `problem` as well.
  return {boost::system::in_place_value, std::move(key)};
}

/// Far above what a rotation needs (the old key, the current one, the next) and a bound on
/// the work of a reload.
constexpr std::size_t max_jwt_keys = 64;

/// The keys of --jwt-key-dir: each `KID.pem` directly in `dir` is the public key that tokens
/// with that `kid` are verified with. Sorted by kid. Fails when any key is unusable, when there
/// are too many, or when there is none: a partial set would refuse members without saying why.
loaded<std::vector<iam::jwt_key>> load_key_dir(const std::string& dir,
                                               iam::jwt_algorithm algorithm) {
  namespace fs = std::filesystem;
  std::vector<iam::jwt_key> keys;
  std::error_code ec;
  fs::directory_iterator entry(dir, ec);
  for (; !ec && entry != fs::directory_iterator(); entry.increment(ec)) {
    const fs::path& path = entry->path();
    const std::string name = path.filename().string();
    // Hidden entries are no keys: editors' backups, the `..data` links of mounted secrets.
    if (name.starts_with('.') || path.extension() != ".pem") continue;
    std::error_code type_ec;
    if (!entry->is_regular_file(type_ec)) continue;  // a link counts by what it points to
    if (keys.size() == max_jwt_keys) {
      return problem{"'" + dir + "' holds more than " + std::to_string(max_jwt_keys) + " keys"};
    }
    auto key = read_key_file(path.string());
    if (!key) return std::move(key).error();
    if (!iam::is_usable_jwt_key(algorithm, *key)) {
      return problem{"'" + path.string() + "' is not " + std::string(key_requirement(algorithm))};
    }
    keys.push_back({path.stem().string(), algorithm, std::move(*key)});
  }
  if (ec) return problem{"cannot read '" + dir + "': " + ec.message()};
  if (keys.empty()) return problem{"'" + dir + "' holds no KID.pem key"};
  std::sort(keys.begin(), keys.end(),
            [](const iam::jwt_key& a, const iam::jwt_key& b) { return a.id < b.id; });
  return keys;
}

/// "a, b, c": the kids of `keys`, for the log.
std::string key_ids(const std::vector<iam::jwt_key>& keys) {
  std::string ids;
  for (const auto& key : keys) {
    if (!ids.empty()) ids += ", ";
    ids += key.id;
  }
  return ids;
}

/// The verifier of the host application's keys, --jwt-public-key or --jwt-key-dir. A key that
/// cannot be used fails here, at start, rather than as a 401 for every member later.
loaded<iam::jwt_verifier> host_jwt_verifier(const jwt_settings& settings) {
  if (!settings.key_dir.empty()) {
    auto keys = load_key_dir(settings.key_dir, settings.algorithm);
    if (!keys) return problem{"cannot use --jwt-key-dir: " + keys.error().message};
    return iam::jwt_verifier(std::move(*keys), settings.rules);
  }
  auto key = read_key_file(settings.public_key_file);
  if (!key) return problem{"cannot use --jwt-public-key: " + key.error().message};
  iam::jwt_verifier verifier(settings.algorithm, std::move(*key), settings.rules);
  if (!verifier.usable()) {
    return problem{"the JWT key cannot be used: --jwt-public-key must be " +
                   std::string(key_requirement(settings.algorithm))};
  }
  return verifier;
}

/// SIGHUP: reads --jwt-key-dir again and swaps the new key set in whole, or keeps the old one.
/// Catches what it calls, as reload_builtins does.
server::reload_outcome reload_jwt_keys(server::http_service& service,
                                       const jwt_settings& settings) {
  constexpr std::string_view kept = "JWT keys not reloaded, the old ones stay: ";
  try {
    auto keys = load_key_dir(settings.key_dir, settings.algorithm);
    if (!keys) return {false, std::string(kept) + keys.error().message};
    std::string message = "reloaded " + count_of(keys->size(), "JWT key") + " (" + key_ids(*keys) +
                          ") from " + settings.key_dir;
    service.replace_jwt_verifier(
        std::make_shared<const iam::jwt_verifier>(std::move(*keys), settings.rules));
    return {true, std::move(message)};
  } catch (const std::exception& e) {
    return {false, std::string(kept) + e.what()};
  }
}

/// SIGHUP: the built-in policies, then the JWT keys when they come from --jwt-key-dir; each
/// keeps its old state on failure, and the one line says what happened to both.
server::reload_outcome reload_all(iam::service& iam, const std::string& policies,
                                  server::http_service& service, const jwt_settings& settings) {
  auto builtins = reload_builtins(iam, policies);
  if (settings.key_dir.empty()) return builtins;
  auto keys = reload_jwt_keys(service, settings);
  try {
    return {builtins.ok && keys.ok, builtins.message + "; " + keys.message};
  } catch (const std::exception& e) {
    return {false, std::string("reload: ") + e.what()};
  }
}

/// --jwt-issuer and --jwt-audience, shared by `serve` and `jwt`. An empty value is refused: it
/// would silently turn the requirement off.
loaded<iam::jwt_claim_rules> jwt_claim_rules_of(const po::variables_map& values) {
  iam::jwt_claim_rules rules;
  if (values.count("jwt-issuer") != 0) rules.issuer = values["jwt-issuer"].as<std::string>();
  if (values.count("jwt-audience") != 0) rules.audience = values["jwt-audience"].as<std::string>();
  if ((values.count("jwt-issuer") != 0 && rules.issuer.empty()) ||
      (values.count("jwt-audience") != 0 && rules.audience.empty())) {
    return problem{"--jwt-issuer and --jwt-audience must not be empty"};
  }
  return rules;
}

/// `text` as one word for a POSIX shell, quoted only when it needs to be.
std::string shell_word(std::string_view text) {
  const bool plain = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("_-.,/:@%+=").find(c) != std::string_view::npos;
  });
  if (plain) return std::string(text);
  std::string quoted = "'";
  for (const char c : text) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

void print_getting_started(std::ostream& out, std::string_view endpoint, const std::string& data,
                           const std::string& policies, const iam::jwt_claim_rules& rules) {
  const std::string program = program_path();
  std::string jwt_command = program + " jwt --data " + data;
  if (!policies.empty()) jwt_command += " --policies " + shell_word(policies);
  if (!rules.issuer.empty()) jwt_command += " --jwt-issuer " + shell_word(rules.issuer);
  if (!rules.audience.empty()) jwt_command += " --jwt-audience " + shell_word(rules.audience);
  jwt_command += " --member ";
  jwt_command += cli::default_owner_email;
  out << "\nInitialized " << data << ": organization \"" << cli::default_organization
      << "\" and its owner " << cli::default_owner_email << " (Owner policy).\n\n"
      << "Getting started (README.md, \"Walk-through\", goes on to members and access tokens):\n"
      << "  # 1. a JWT that acts as the owner for one hour\n"
      << "  JWT=$(" << jwt_command << ")\n"
      << "  # 2. a first decision\n"
      << "  curl -s -X POST http://" << endpoint << "/api/v1/decisions"
      << R"( -H "Authorization: Bearer $JWT" \)" << '\n'
      << R"(    -H 'Content-Type: application/json' \)" << '\n'
      << R"(    -d '{"action": "ToggleFlag", "resource": "project/web:env/prod:flag/dark-mode"}')"
      << '\n';
}

int run_serve(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
  const server::serve_options defaults;
  po::options_description visible = options_with_help();
  visible.add_options()(
      "data",
      po::value<std::string>()->default_value(std::string(default_data_dir))->value_name("DIR"),
      "data directory; initialized when empty")(
      "listen",
      po::value<std::string>()->default_value(std::string(default_listen))->value_name("HOST:PORT"),
      "address to listen on (port 0: any free port)")(
      "policies", po::value<std::string>()->default_value("")->value_name("DIR"),
      "load the built-in policies from DIR/*.json instead of those compiled in; reloaded on "
      "SIGHUP")("threads", po::value<unsigned>()->default_value(defaults.threads)->value_name("N"),
                "threads answering requests")(
      "jwt-public-key", po::value<std::string>()->value_name("FILE"),
      "verify member JWTs with this PEM public key instead of DIR's HS256 key")(
      "jwt-key-dir", po::value<std::string>()->value_name("DIR"),
      "verify member JWTs with the PEM public keys KID.pem in DIR, chosen by the token's kid; "
      "read again on SIGHUP")("jwt-alg", po::value<std::string>()->value_name("RS256|ES256"),
                              "the algorithm of --jwt-public-key or of every --jwt-key-dir key")(
      "jwt-issuer", po::value<std::string>()->value_name("ISS"),
      "member JWTs must carry this iss claim")(
      "jwt-audience", po::value<std::string>()->value_name("AUD"),
      "member JWTs must carry an aud claim naming this audience")(
      "max-connections",
      po::value<std::size_t>()->default_value(defaults.max_connections)->value_name("N"),
      "open connections at most; more are closed at once")(
      "max-connections-per-client",
      po::value<std::size_t>()->default_value(defaults.max_connections_per_client)->value_name("N"),
      "open connections from one client address at most; more are closed at once")(
      "header-limit",
      po::value<std::size_t>()->default_value(defaults.header_limit)->value_name("BYTES"),
      "request line and headers at most (431 beyond)")(
      "body-limit",
      po::value<std::size_t>()
          ->default_value(server::http_limits{}.max_body_bytes)
          ->value_name("BYTES"),
      "request body at most (413 beyond)")(
      "read-timeout", po::value<std::string>()->default_value("10s")->value_name("DURATION"),
      "time for a whole request to arrive")(
      "idle-timeout", po::value<std::string>()->default_value("30s")->value_name("DURATION"),
      "time a keep-alive connection waits for its next request");
  const auto parsed = parse_arguments("serve", serve_usage, visible, {}, {}, args, out, err);
  if (parsed.exit) return *parsed.exit;
  const auto& values = parsed.values;
  const auto usage_error = [&err](std::string_view message) {
    err << "gatehouse serve: " << message << "\n\n" << serve_usage;
    return exit_bad_input;
  };

  server::serve_options options;
  server::http_limits limits;
  const auto listen = parse_listen(values["listen"].as<std::string>());
  if (!listen) return usage_error("--listen must be HOST:PORT, e.g. 127.0.0.1:8080");
  std::tie(options.address, options.port) = *listen;
  options.threads = values["threads"].as<unsigned>();
  options.max_connections = values["max-connections"].as<std::size_t>();
  options.max_connections_per_client = values["max-connections-per-client"].as<std::size_t>();
  options.header_limit = values["header-limit"].as<std::size_t>();
  limits.max_body_bytes = values["body-limit"].as<std::size_t>();
  if (options.threads == 0 || options.max_connections == 0 ||
      options.max_connections_per_client == 0 || options.header_limit == 0 ||
      limits.max_body_bytes == 0) {
    return usage_error("--threads, --max-connections and the limits must be positive");
  }
  // Beast counts header bytes in 32 bits.
  if (options.header_limit > std::numeric_limits<std::uint32_t>::max()) {
    return usage_error("--header-limit is too large");
  }
  const auto read_timeout = parse_duration(values["read-timeout"].as<std::string>());
  const auto idle_timeout = parse_duration(values["idle-timeout"].as<std::string>());
  if (!read_timeout || !idle_timeout) {
    return usage_error("--read-timeout and --idle-timeout take a DURATION such as 500ms or 10s");
  }
  options.read_timeout = *read_timeout;
  options.idle_timeout = *idle_timeout;

  jwt_settings jwt;
  const bool public_key = values.count("jwt-public-key") != 0;
  const bool key_dir = values.count("jwt-key-dir") != 0;
  if (public_key && key_dir) {
    return usage_error("--jwt-public-key and --jwt-key-dir exclude each other");
  }
  if ((public_key || key_dir) != (values.count("jwt-alg") != 0)) {
    return usage_error("--jwt-alg goes with --jwt-public-key or --jwt-key-dir, and they need it");
  }
  if (public_key || key_dir) {
    const auto& alg = values["jwt-alg"].as<std::string>();
    if (alg != "RS256" && alg != "ES256") return usage_error("--jwt-alg must be RS256 or ES256");
    jwt.algorithm = alg == "RS256" ? iam::jwt_algorithm::rs256 : iam::jwt_algorithm::es256;
    if (public_key) jwt.public_key_file = values["jwt-public-key"].as<std::string>();
    if (key_dir) jwt.key_dir = values["jwt-key-dir"].as<std::string>();
  }
  auto rules = jwt_claim_rules_of(values);
  if (!rules) return usage_error(rules.error().message);
  jwt.rules = std::move(*rules);
  // The host's keys are read before the data directory is opened, so that a mistake leaves
  // nothing initialized behind.
  std::optional<iam::jwt_verifier> verifier;
  if (public_key || key_dir) {
    auto host = host_jwt_verifier(jwt);
    if (!host) {
      err << "gatehouse serve: " << host.error().message << '\n';
      return exit_bad_input;
    }
    verifier.emplace(std::move(*host));
  }

  const auto& data = values["data"].as<std::string>();
  const auto& policies = values["policies"].as<std::string>();
  auto builtins = load_builtins("serve", policies, err);
  if (!builtins) return exit_bad_input;
  iam::hooks hooks;
  hooks.log = server::log_event;
  auto opened = cli::open_data_directory(data, std::move(*builtins), std::move(hooks));
  if (!opened) {
    err << "gatehouse serve: cannot open the data directory '" << data
        << "': " << opened.error().detail << '\n';
    return exit_bad_input;
  }
  cli::data_directory directory = std::move(*opened);
  if (!verifier) {
    // The HS256 secret moves into the verifier, which wipes it; no other copy stays.
    verifier.emplace(iam::jwt_algorithm::hs256, std::move(directory.jwt_secret), jwt.rules);
    if (!verifier->usable()) {
      err << "gatehouse serve: the JWT key cannot be used: the data directory's jwt.key is too "
             "short\n";
      return exit_bad_input;
    }
  }

  server::metrics metrics;
  server::http_service service(*directory.iam, std::move(*verifier), metrics, limits);
  iam::service& iam = *directory.iam;
  const bool initialized = directory.initialized;
  return server::run_server(
      service, metrics, options,
      [&iam, &policies, &service, &jwt] { return reload_all(iam, policies, service, jwt); },
      [&](std::string_view endpoint) {
        out << "listening on " << endpoint << '\n';
        if (initialized) print_getting_started(out, endpoint, data, policies, jwt.rules);
        // The access log that follows is written to the same descriptor, unbuffered.
        out.flush();
      });
}

int run_jwt(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
  po::options_description visible = options_with_help();
  visible.add_options()(
      "data",
      po::value<std::string>()->default_value(std::string(default_data_dir))->value_name("DIR"),
      "data directory of the server")("member",
                                      po::value<std::string>()->required()->value_name("EMAIL"),
                                      "e-mail address of a member of the playground organization")(
      "ttl", po::value<std::string>()->default_value("1h")->value_name("DURATION"),
      "lifetime of the token, in whole seconds: 30s, 30m, 1h, 2d")(
      "policies", po::value<std::string>()->default_value("")->value_name("DIR"),
      "the server's --policies, if it has one: the built-in policies to open the data directory "
      "with")("jwt-issuer", po::value<std::string>()->value_name("ISS"), "the token's iss claim")(
      "jwt-audience", po::value<std::string>()->value_name("AUD"), "the token's aud claim");
  const auto parsed = parse_arguments("jwt", jwt_usage, visible, {}, {}, args, out, err);
  if (parsed.exit) return *parsed.exit;
  const auto& values = parsed.values;
  const auto ttl = parse_duration(values["ttl"].as<std::string>());
  if (!ttl || ttl->count() % 1000 != 0) {
    err << "gatehouse jwt: --ttl takes whole seconds or more: 30s, 30m, 1h, 2d\n\n" << jwt_usage;
    return exit_bad_input;
  }
  const auto rules = jwt_claim_rules_of(values);
  if (!rules) {
    err << "gatehouse jwt: " << rules.error().message << "\n\n" << jwt_usage;
    return exit_bad_input;
  }
  const auto& data = values["data"].as<std::string>();
  // Opening would initialize a missing directory, and a token for a fresh owner would silently
  // act on a database no server uses.
  if (std::error_code ec;
      !std::filesystem::exists(std::filesystem::path(data) / "gatehouse.db", ec)) {
    err << "gatehouse jwt: no gatehouse data directory at '" << data
        << "'; `gatehouse serve --data " << data << "` creates one\n";
    return exit_bad_input;
  }
  auto builtins = load_builtins("jwt", values["policies"].as<std::string>(), err);
  if (!builtins) return exit_bad_input;
  auto opened = cli::open_data_directory(data, std::move(*builtins));
  if (!opened) {
    err << "gatehouse jwt: cannot open the data directory '" << data
        << "': " << opened.error().detail << '\n';
    return exit_bad_input;
  }
  const auto& email = values["member"].as<std::string>();
  const auto member = opened->iam->find_member_by_email(opened->organization_id, email);
  if (!member) {
    err << "gatehouse jwt: no member '" << email << "' in the organization "
        << cli::default_organization << '\n';
    return exit_bad_input;
  }
  const auto token =
      iam::mint_hs256(opened->jwt_secret, member->id, opened->organization_id, *rules,
                      std::chrono::duration_cast<std::chrono::seconds>(*ttl));
  if (!token) {
    err << "gatehouse jwt: cannot sign the token: " << token.error().message() << '\n';
    return exit_bad_input;
  }
  out << *token << '\n';
  return exit_ok;
}

// ---- Dispatch -------------------------------------------------------------------------------

struct command {
  std::string_view name;
  int (*run)(std::span<const std::string> args, std::ostream& out, std::ostream& err);
};

constexpr std::array commands = {
    command{"check", run_check}, command{"decide", run_decide}, command{"contains", run_contains},
    command{"serve", run_serve}, command{"jwt", run_jwt},
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
