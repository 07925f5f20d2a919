// Writing statements, policy documents and requests as JSON text with RapidJSON. When policy/
// gains its statement writer, write_statement is what should call it.
#include "statement_json.hpp"

#include "json_fields.hpp"

namespace gatehouse::bench {
namespace {

void write_string_array(json_writer& w, const std::vector<std::string>& items) {
  w.StartArray();
  for (const auto& item : items) {
    w.String(item.data(), static_cast<rapidjson::SizeType>(item.size()));
  }
  w.EndArray();
}

void write_statement(json_writer& w, const policy::statement& s) {
  w.StartObject();
  field(w, "id", std::string_view(s.id));
  field(w, "resourceType", std::string_view(s.resource_type));
  field(w, "effect", std::string_view(s.effect == policy::effect::deny ? "deny" : "allow"));
  w.Key("actions");
  write_string_array(w, s.actions);
  w.Key("resources");
  write_string_array(w, s.resources);
  w.EndObject();
}

}  // namespace

std::string statement_json(const policy::statement& s) {
  return json_text([&](json_writer& w) { write_statement(w, s); });
}

std::string statement_array_json(std::span<const policy::statement> statements) {
  return json_text([&](json_writer& w) {
    w.StartArray();
    for (const auto& s : statements) write_statement(w, s);
    w.EndArray();
  });
}

std::string to_document_json(std::span<const generated_statement> statements, std::string_view id,
                             std::string_view name) {
  // Laid out by hand around RapidJSON's compact statements: one statement per line keeps a
  // 10,000-statement file readable and diffable, which PrettyWriter's layout does not.
  std::string out = "{\n  \"id\": " + json_quoted(id) + ",\n  \"key\": " + json_quoted(id) +
                    ",\n  \"name\": " + json_quoted(name) +
                    ",\n  \"description\": \"Synthetic FeatBit workload from gatehouse-bench\","
                    "\n  \"type\": \"CustomerManaged\",\n  \"statements\": [";
  for (std::size_t i = 0; i < statements.size(); ++i) {
    out += i == 0 ? "\n    " : ",\n    ";
    out += statement_json(statements[i].statement);
  }
  out += "\n  ]\n}\n";
  return out;
}

std::string to_requests_jsonl(std::span<const engine::request> requests) {
  std::string out;
  for (const auto& q : requests) {
    out += json_object([&](json_writer& w) {
      field(w, "action", std::string_view(q.action));
      field(w, "resource", std::string_view(q.resource));
    });
    out += '\n';
  }
  return out;
}

}  // namespace gatehouse::bench
