// Policy documents and requests as JSON text; statements are written by policy/'s one writer.
#include "statement_json.hpp"

#include "json_fields.hpp"

#include <gatehouse/policy/document.hpp>

namespace gatehouse::bench {
std::string statement_json(const policy::statement& s) { return policy::to_json(s); }

std::string statement_array_json(std::span<const policy::statement> statements) {
  return policy::to_json(statements);
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
