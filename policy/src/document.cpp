// Loading policy documents: the steps of a load (size limits, the position-tracking parse, the
// schema's explanation, the semantic checks) and building the loaded statements, plus reading
// statements as stored and formatting findings.
#include <gatehouse/policy/document.hpp>

#include "json_access.hpp"
#include "message_text.hpp"
#include "position_parser.hpp"
#include "schema_explainer.hpp"
#include "source_map.hpp"
#include "statement_checker.hpp"

#include <rapidjson/document.h>
#include <rapidjson/pointer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <system_error>
#include <tuple>
#include <utility>

namespace gatehouse::policy {
namespace {

using namespace detail;

/// Largest document accepted; policies are a few KiB, so this only stops runaway input.
constexpr std::size_t max_document_bytes = std::size_t{4} << 20;

// ---------------------------------------------------------------------------------------------
// Building the result

// A string member of `obj` as written; empty when `obj` is not an object or the member is not a
// string.
std::string text_member(const json_value& obj, const char* name) {
  return std::string(obj.IsObject() ? string_member_or(obj, name, {}) : std::string_view{});
}

// A list member of `obj` as written. An entry that cannot be read is an empty string, which never
// compiles; a lone string stands for itself beside one, so that it keeps its meaning while the
// statement fails closed.
std::vector<std::string> list_member(const json_value& obj, const char* name) {
  std::vector<std::string> out;
  const auto it = obj.IsObject() ? obj.FindMember(name) : obj.MemberEnd();
  if (obj.IsObject() && it != obj.MemberEnd() && it->value.IsArray()) {
    for (const auto& v : it->value.GetArray()) out.emplace_back(v.IsString() ? as_view(v) : "");
    return out;
  }
  if (obj.IsObject() && it != obj.MemberEnd() && it->value.IsString()) {
    out.emplace_back(as_view(it->value));
  }
  out.emplace_back();
  return out;
}

// One statement as written. A statement the schema accepted has every member, with its type and
// an effect of "allow" or "deny", so it reads exactly as written; of any other, nothing read
// grants more, or denies less, than was written: an effect other than "allow" reads as deny.
statement read_statement(const json_value& s) {
  statement st;
  st.id = text_member(s, "id");
  st.resource_type = text_member(s, "resourceType");
  st.effect = text_member(s, "effect") == "allow" ? effect::allow : effect::deny;
  st.actions = list_member(s, "actions");
  st.resources = list_member(s, "resources");
  return st;
}

std::vector<statement> read_statements(const json_value& list) {
  std::vector<statement> out;
  out.reserve(list.Size());
  for (const auto& s : list.GetArray()) out.push_back(read_statement(s));
  return out;
}

// Only called on a document the schema accepted, so every member has its type.
policy_document build_document(const json_value& root) {
  policy_document doc;
  if (!root.IsObject()) {
    doc.statements = read_statements(root);
    return doc;
  }
  doc.id = text_member(root, "id");
  doc.key = text_member(root, "key");
  doc.name = text_member(root, "name");
  doc.description = text_member(root, "description");
  doc.type = text_member(root, "type");
  doc.statements = read_statements(root["statements"]);
  return doc;
}

// ---------------------------------------------------------------------------------------------
// Loading

std::string byte_size(std::size_t bytes) {
  if (bytes % (std::size_t{1} << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  if (bytes % 1024 == 0) return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + " bytes";
}

load_result too_large(std::string what, std::size_t limit, std::string_view advice,
                      std::string pointer = {}) {
  load_result result;
  result.findings.push_back(
      {severity::error, "document-too-large",
       std::move(what) + " is larger than " + byte_size(limit) + "; " + std::string(advice),
       std::move(pointer), 1, 1});
  return result;
}

// The statements of a document the schema may not have accepted, and the pointer of their array.
std::pair<const json_value*, std::string> statements_of(const json_value& root) {
  if (root.IsArray()) return {&root, ""};
  if (!root.IsObject()) return {nullptr, ""};
  const auto statements = root.FindMember("statements");
  if (statements == root.MemberEnd() || !statements->value.IsArray()) return {nullptr, ""};
  return {&statements->value, "/statements"};
}

// The statement array at `at`, explained against the schema's statement list, or null with a
// finding that says why there is none.
const json_value* statements_at(const rapidjson::Document& dom, std::string_view at,
                                const source_map& map, finding_list& findings) {
  const std::string pointer(at);
  const json_value* value = rapidjson::Pointer(pointer.c_str()).Get(dom);
  if (value == nullptr) {
    const std::string parent = pointer.substr(0, pointer.rfind('/'));
    findings.error("missing-key",
                   "the document is missing required key " + quote(last_token(at)) +
                       "; add it, a list of statements",
                   parent, map.value_offset(parent));
    return nullptr;
  }
  if (!value->IsArray()) {
    findings.error("wrong-type",
                   describe_location(pointer) + " must be an array of statements, not " +
                       json_type_name(*value),
                   pointer, map.value_offset(pointer));
    return nullptr;
  }
  explain_schema_failures(*value, pointer, map, findings);
  return value;
}

// An output stream for RapidJSON's writer that only counts what it is given.
struct byte_counter {
  using Ch = char;
  std::size_t bytes = 0;
  void Put(char /*c*/) noexcept { ++bytes; }
  void Flush() noexcept {}
};

// The bytes of `value` written as compact JSON.
std::size_t compact_size(const json_value& value) {
  byte_counter out;
  rapidjson::Writer<byte_counter> writer(out);
  value.Accept(writer);
  return out.bytes;
}

// load_policy (`at` empty: a document or a bare array) and load_statements (the array at `at`).
load_result load(std::string_view json, std::optional<std::string_view> at,
                 const load_options& options) {
  // The statements at `at` are held to `max_bytes`; the document around them only to the
  // largest document.
  const std::size_t max_bytes = std::min(options.max_bytes, max_document_bytes);
  const std::size_t max_document = at ? max_document_bytes : max_bytes;
  if (json.size() > max_document) {
    return too_large("the document", max_document, "split the policy into several documents");
  }
  // A UTF-8 byte order mark is invisible in editors, so positions are counted after it.
  if (json.substr(0, 3) == "\xEF\xBB\xBF") json.remove_prefix(3);

  source_map map(json);
  finding_list findings(map);
  rapidjson::Document dom;
  if (!parse_with_positions(json, dom, map, findings))
    return {std::nullopt, std::move(findings).take()};

  const json_value* statements = nullptr;
  std::string pointer;
  if (at) {
    statements = statements_at(dom, *at, map, findings);
    pointer = std::string(*at);
    if (statements != nullptr && json.size() > max_bytes && compact_size(*statements) > max_bytes) {
      return too_large("the statement list at " + pointer, max_bytes,
                       "use fewer or shorter statements", pointer);
    }
  } else {
    explain_schema_failures(dom, "", map, findings);
    std::tie(statements, pointer) = statements_of(dom);
  }
  if (statements != nullptr) check_statements(*statements, pointer, map, findings, options);

  load_result result;
  if (!findings.has_error()) {
    if (at) {
      result.document.emplace().statements = read_statements(*statements);
    } else {
      result.document = build_document(dom);
    }
  }
  result.findings = std::move(findings).take();
  return result;
}

}  // namespace

load_result load_policy(std::string_view json, const load_options& options) {
  return load(json, std::nullopt, options);
}

load_result load_statements(std::string_view json, std::string_view at,
                            const load_options& options) {
  return load(json, at, options);
}

load_result load_policy_file(const std::string& path, const load_options& options) {
  auto unreadable = [&](const std::string& why) {
    load_result result;
    result.findings.push_back(
        {severity::error, "unreadable-file",
         "cannot read " + quote(path) + ": " + why + "; check the path and its permissions", "", 1,
         1});
    return result;
  };
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return unreadable("it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) return unreadable(std::generic_category().message(errno));
  // Reads at most one chunk past the limit, so an oversized file is refused without reading it all.
  std::string text;
  std::array<char, std::size_t{64} * 1024> chunk{};
  while (in && text.size() <= max_document_bytes) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    text.append(chunk.data(), static_cast<std::size_t>(in.gcount()));
  }
  if (in.bad()) return unreadable("read error");
  if (text.size() > max_document_bytes) {
    return too_large("the file", max_document_bytes, "split the policy into several documents");
  }
  return load_policy(text, options);
}

std::optional<std::vector<statement>> read_statements_as_stored(std::string_view json) {
  rapidjson::Document dom;
  dom.Parse<rapidjson::kParseIterativeFlag>(json.data(), json.size());
  if (dom.HasParseError()) return std::nullopt;
  const auto [list, pointer] = statements_of(dom);
  if (list == nullptr) return std::nullopt;
  return read_statements(*list);
}

std::string format_finding(std::string_view file, const finding& f) {
  std::string out(file);
  out += ':' + std::to_string(f.line) + ':' + std::to_string(f.column) + ": ";
  out += f.severity == severity::error ? "error " : "warning ";
  out += f.code + ": " + f.message;
  return out;
}

}  // namespace gatehouse::policy
