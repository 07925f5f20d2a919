// Reading statement and request files, compiling with errors a user can act on.
#include "inputs.hpp"

#include <gatehouse/policy/document.hpp>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <fstream>

namespace gatehouse::bench {
namespace {

std::vector<engine::sourced_statement> to_sourced(policy::load_result loaded,
                                                  const std::string& name) {
  std::string message;
  for (const auto& f : loaded.findings) {
    if (f.severity != policy::severity::error) continue;
    if (!message.empty()) message += '\n';
    message += policy::format_finding(name, f);
  }
  if (!loaded.ok()) {
    throw input_error(message.empty() ? name + ": does not load" : message);
  }
  auto& document = *loaded.document;
  const std::string policy_id = document.id.empty() ? name : document.id;
  std::vector<engine::sourced_statement> out;
  out.reserve(document.statements.size());
  for (auto& s : document.statements) out.push_back({policy_id, std::move(s)});
  return out;
}

}  // namespace

std::vector<engine::sourced_statement> load_statements_text(std::string_view json,
                                                            const std::string& name) {
  return to_sourced(policy::load_policy(json), name);
}

std::vector<engine::sourced_statement> load_statements_file(const std::string& path) {
  return to_sourced(policy::load_policy_file(path), path);
}

std::vector<engine::request> load_requests_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw input_error(path + ": cannot be read");
  std::vector<engine::request> out;
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto where = path + ":" + std::to_string(number) + ": ";
    rapidjson::Document d;
    d.Parse(line.data(), line.size());
    if (d.HasParseError()) {
      throw input_error(where + rapidjson::GetParseError_En(d.GetParseError()));
    }
    if (!d.IsObject()) throw input_error(where + "a request is a JSON object");
    const auto field = [&](const char* key) {
      const auto it = d.FindMember(key);
      if (it == d.MemberEnd() || !it->value.IsString()) {
        throw input_error(where + "\"" + key + "\" must be a string");
      }
      return std::string(it->value.GetString(), it->value.GetStringLength());
    };
    out.push_back({field("action"), field("resource")});
  }
  if (out.empty()) throw input_error(path + ": no requests");
  return out;
}

std::shared_ptr<const engine::compiled_policy> compile_or_throw(
    std::span<const engine::sourced_statement> statements, const std::string& name) {
  auto compiled = engine::compiled_policy::compile(statements);
  if (!compiled) throw input_error(name + ": " + engine::describe(compiled.error(), statements));
  return *compiled;
}

void write_text_file(const std::string& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (!out.flush()) throw input_error(path + ": cannot be written");
}

}  // namespace gatehouse::bench
