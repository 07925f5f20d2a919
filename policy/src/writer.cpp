// Statements and findings as JSON: the one writer of each.
#include <gatehouse/policy/document.hpp>
#include <gatehouse/policy/json.hpp>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <utility>

namespace gatehouse::policy {
namespace {

using writer = json_writer;

void write_strings(writer& w, const char* key, const std::vector<std::string>& items) {
  w.Key(key);
  w.StartArray();
  for (const auto& item : items) write_string(w, item);
  w.EndArray();
}

void write_statement(writer& w, const statement& s) {
  w.StartObject();
  w.Key("id");
  write_string(w, s.id);
  w.Key("resourceType");
  write_string(w, s.resource_type);
  w.Key("effect");
  write_string(w, s.effect == effect::deny ? "deny" : "allow");
  write_strings(w, "actions", s.actions);
  write_strings(w, "resources", s.resources);
  w.EndObject();
}

}  // namespace

std::string to_json(std::span<const statement> statements) {
  rapidjson::StringBuffer buffer;
  writer w(buffer);
  w.StartArray();
  for (const auto& s : statements) write_statement(w, s);
  w.EndArray();
  return {buffer.GetString(), buffer.GetSize()};
}

std::string to_json(const policy_document& d) {
  rapidjson::StringBuffer buffer;
  writer w(buffer);
  w.StartObject();
  for (const auto& [key, value] :
       {std::pair{"id", &d.id}, std::pair{"key", &d.key}, std::pair{"name", &d.name},
        std::pair{"description", &d.description}, std::pair{"type", &d.type}}) {
    if (value->empty()) continue;
    w.Key(key);
    write_string(w, *value);
  }
  w.Key("statements");
  w.StartArray();
  for (const auto& s : d.statements) write_statement(w, s);
  w.EndArray();
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

std::string to_json(const statement& s) {
  rapidjson::StringBuffer buffer;
  writer w(buffer);
  write_statement(w, s);
  return {buffer.GetString(), buffer.GetSize()};
}

std::string request_json(std::string_view action, std::string_view resource) {
  rapidjson::StringBuffer buffer;
  writer w(buffer);
  w.StartObject();
  w.Key("action");
  write_string(w, action);
  w.Key("resource");
  write_string(w, resource);
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

std::string to_json(const finding& f, std::string_view file) {
  rapidjson::StringBuffer buffer;
  writer w(buffer);
  w.StartObject();
  if (!file.empty()) {
    w.Key("file");
    write_string(w, file);
  }
  w.Key("line");
  w.Uint64(f.line);
  w.Key("column");
  w.Uint64(f.column);
  w.Key("severity");
  write_string(w, f.severity == severity::error ? "error" : "warning");
  w.Key("code");
  write_string(w, f.code);
  w.Key("message");
  write_string(w, f.message);
  w.Key("pointer");
  write_string(w, f.pointer);
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

}  // namespace gatehouse::policy
