// The policy tools: `check` validates policy files, `decide` evaluates requests against
// statements, `contains` checks that one set of statements grants nothing beyond another. Input
// and output are JSON (RapidJSON).
#include "commands.hpp"

#include <gatehouse/engine/compiled_policy.hpp>
#include <gatehouse/engine/containment.hpp>
#include <gatehouse/policy/document.hpp>
#include <gatehouse/policy/json.hpp>
#include "cli.hpp"
#include "command_line.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <memory>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace gatehouse::cli {
namespace {

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

// ---- JSON output ----------------------------------------------------------------------------

using policy::json_writer;
using policy::write_string;

/// Writes the finished JSON value in `buffer` as one line and empties the buffer for the next.
void write_line(rapidjson::StringBuffer& buffer, std::ostream& out) {
  out.write(buffer.GetString(), static_cast<std::streamsize>(buffer.GetSize()));
  out.put('\n');
  buffer.Clear();
}

void write_finding(json_writer& writer, std::string_view file, const policy::finding& f) {
  const std::string text = policy::to_json(f, file);
  writer.RawValue(text.data(), text.size(), rapidjson::kObjectType);
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

// ---- Requests and answers ------------------------------------------------------------------

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

/// Writes `{"decision": …, "statements": [ids]}` for one evaluated request as one line; `writer`
/// and `buffer` are reused from line to line.
void write_verdict(const engine::compiled_policy& compiled, const engine::verdict& verdict,
                   std::span<const std::uint32_t> determining, json_writer& writer,
                   rapidjson::StringBuffer& buffer, std::ostream& out) {
  writer.Reset(buffer);
  writer.StartObject();
  writer.Key("decision");
  write_string(writer, engine::to_string(verdict.decision));
  writer.Key("statements");
  writer.StartArray();
  for (std::uint32_t i = 0; i < verdict.written; ++i) {
    write_string(writer, compiled.statement(determining[i]).statement_id);
  }
  writer.EndArray();
  writer.EndObject();
  write_line(buffer, out);
}

void write_containment(const engine::containment& checked, std::ostream& out) {
  rapidjson::StringBuffer buffer;
  json_writer writer(buffer);
  writer.StartObject();
  writer.Key("contained");
  writer.Bool(checked.contained);
  writer.Key("counterexample");
  if (checked.counterexample) {
    const auto& [action, resource] = *checked.counterexample;
    const std::string text = policy::request_json(action, resource);
    writer.RawValue(text.data(), text.size(), rapidjson::kObjectType);
  } else {
    writer.Null();
  }
  writer.EndObject();
  write_line(buffer, out);
}

}  // namespace

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
    return usage_error(err, "check", check_usage, "no FILE given");
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
    write_verdict(*compiled, verdict, determining, writer, buffer, out);
  }
  if (requests.bad()) {
    err << "gatehouse decide: cannot read requests file '" << requests_path << "'\n";
    return exit_bad_input;
  }
  return exit_ok;
}

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
  write_containment(*checked, out);
  return exit_ok;
}

}  // namespace gatehouse::cli
