// Explaining why a document fails the policy schema: every failure, node by node, as findings
// with the stable codes of policy/README.md (RapidJSON's validator reports only the first).
#include "schema_explainer.hpp"

#include "message_text.hpp"
#include "near_miss.hpp"
#include "policy_schema.hpp"

#include <rapidjson/pointer.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace gatehouse::policy::detail {
namespace {

// The schema's rules that are there for editors only. An editor pointed at the schema completes
// action names with their descriptions and underlines an unknown action or a malformed resource
// name; the statement checker reports both itself, with more than a schema can say (the nearest
// action, the rn-* code and the failing character), and compiled in they would add a second,
// vaguer schema-violation finding for each. So the validator drops them before compiling: one
// schema file serves editors and the loader, and the loader's findings stay the checker's.
struct editor_only_rule {
  const char* node;  // JSON pointer into the schema
  const char* keyword;
};
constexpr std::array<editor_only_rule, 2> editor_only_rules = {{
    {"/definitions/statement/properties/actions/items", "enum"},
    {"/definitions/statement/properties/resources/items", "pattern"},
}};

// The schema is compiled into the library, so a schema that does not hold what this file expects
// is a build defect, not bad input.
[[noreturn]] void built_in_schema_defect(const std::string& what) {
  std::fputs(("gatehouse: the built-in policy schema " + what + "\n").c_str(), stderr);
  std::abort();
}

// The policy schema, compiled once: the whole-document validator plus one validator per
// sub-schema, which explains failures node by node (RapidJSON reports only the first error).
class compiled_schema {
 public:
  compiled_schema() {
    source_.Parse(policy_schema_json);
    if (source_.HasParseError() || !source_.IsObject()) {
      built_in_schema_defect("is not valid JSON");
    }
    for (const auto& [node, keyword] : editor_only_rules) {
      json_value* rule_node = rapidjson::Pointer(node).Get(source_);
      if (rule_node == nullptr || !rule_node->IsObject() || !rule_node->RemoveMember(keyword)) {
        built_in_schema_defect(std::string("has no \"") + keyword + "\" at " + node);
      }
    }
    root_ = std::make_unique<rapidjson::SchemaDocument>(source_);
    by_node_.emplace(&source_, root_.get());
    add_subschemas(source_);
  }

  [[nodiscard]] const json_value& root() const noexcept { return source_; }

  /// Follows a local `$ref` to the node it names.
  [[nodiscard]] const json_value& resolve(const json_value& node) const {
    const auto ref = node.FindMember("$ref");
    if (ref == node.MemberEnd() || !ref->value.IsString()) return node;
    const std::string_view target = as_view(ref->value);
    if (target.empty() || target[0] != '#') return node;
    const std::string path(target.substr(1));
    const json_value* resolved = rapidjson::Pointer(path.c_str()).Get(source_);
    return resolved ? *resolved : node;
  }

  /// The compiled form of `node`, or null for a node under a keyword the loader does not descend
  /// into; the caller then blames the enclosing value.
  [[nodiscard]] const rapidjson::SchemaDocument* validator_for(const json_value& node) const {
    const auto it = by_node_.find(&node);
    return it != by_node_.end() ? it->second : nullptr;
  }

 private:
  // Every schema node gets a validator of its own. A node is compiled together with a copy of
  // the root's definitions so that `$ref`s inside it still resolve.
  void add_subschemas(const json_value& node) {
    if (!node.IsObject()) return;
    auto visit = [this](const json_value& child) {
      if (!child.IsObject() || child.HasMember("$ref")) return;
      if (!by_node_.contains(&child)) {
        auto copy = std::make_unique<rapidjson::Document>();
        copy->CopyFrom(child, copy->GetAllocator());
        const auto defs = source_.FindMember("definitions");
        if (defs != source_.MemberEnd() && !copy->HasMember("definitions")) {
          json_value defs_copy(defs->value, copy->GetAllocator());
          copy->AddMember("definitions", defs_copy, copy->GetAllocator());
        }
        auto compiled = std::make_unique<rapidjson::SchemaDocument>(*copy);
        by_node_.emplace(&child, compiled.get());
        copies_.push_back(std::move(copy));
        compiled_.push_back(std::move(compiled));
      }
      add_subschemas(child);
    };
    for (const char* group : {"properties", "definitions"}) {
      const auto it = node.FindMember(group);
      if (it == node.MemberEnd() || !it->value.IsObject()) continue;
      for (const auto& member : it->value.GetObject()) visit(member.value);
    }
    if (const auto items = node.FindMember("items"); items != node.MemberEnd()) {
      visit(items->value);
    }
  }

  rapidjson::Document source_;
  std::unique_ptr<rapidjson::SchemaDocument> root_;
  std::vector<std::unique_ptr<rapidjson::Document>> copies_;
  std::vector<std::unique_ptr<rapidjson::SchemaDocument>> compiled_;
  std::unordered_map<const json_value*, const rapidjson::SchemaDocument*> by_node_;
};

const compiled_schema& policy_schema() {
  static const compiled_schema schema;
  return schema;
}

std::vector<std::string_view> string_list(const json_value& node, const char* member) {
  std::vector<std::string_view> out;
  const auto it = node.FindMember(member);
  if (it == node.MemberEnd()) return out;
  if (it->value.IsArray()) {
    for (const auto& item : it->value.GetArray()) {
      if (item.IsString()) out.push_back(as_view(item));
    }
  } else if (it->value.IsObject()) {
    for (const auto& m : it->value.GetObject()) out.push_back(as_view(m.name));
  }
  return out;
}

std::string describe_types(const json_value& node) {
  const auto it = node.FindMember("type");
  if (it == node.MemberEnd()) return "a different type";
  std::vector<std::string_view> names;
  if (it->value.IsString()) names.push_back(as_view(it->value));
  if (it->value.IsArray()) names = string_list(node, "type");
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
    const bool vowel =
        !names[i].empty() && std::string_view("aeiou").find(names[i][0]) != std::string_view::npos;
    out += vowel ? "an " : "a ";
    out += names[i];
  }
  return out;
}

// Turns schema failures into findings with the stable codes of policy/README.md.
class schema_explainer {
 public:
  schema_explainer(const compiled_schema& schema, const source_map& map, finding_list& findings)
      : schema_(schema), map_(map), findings_(findings) {}

  /// Reports why `value` fails `node`, once per distinct problem; returns how many it reported.
  std::size_t explain(const json_value& value, const json_value& raw_node,
                      const std::string& pointer) {
    const json_value& node = schema_.resolve(raw_node);
    const rapidjson::SchemaDocument* compiled = schema_.validator_for(node);
    if (compiled == nullptr) return 0;
    rapidjson::SchemaValidator validator(*compiled);
    if (value.Accept(validator)) return 0;
    const std::string keyword = validator.GetInvalidSchemaKeyword();
    rapidjson::StringBuffer relative;
    validator.GetInvalidDocumentPointer().Stringify(relative);

    if (keyword == "type" && relative.GetSize() == 0) {
      wrong_type(value, node, pointer);
      return 1;
    }
    std::size_t reported = 0;
    const auto properties = node.FindMember("properties");
    const auto items = node.FindMember("items");
    if (value.IsObject() && properties != node.MemberEnd() && properties->value.IsObject()) {
      reported += explain_object(value, node, properties->value, pointer);
    } else if (value.IsArray() && items != node.MemberEnd() && items->value.IsObject()) {
      reported += explain_array(value, node, items->value, pointer);
    }
    if (reported == 0) {
      leaf(value, node, keyword, pointer + relative.GetString());
      reported = 1;
    }
    return reported;
  }

 private:
  std::size_t explain_object(const json_value& value, const json_value& node,
                             const json_value& properties, const std::string& pointer) {
    std::size_t reported = 0;
    const auto additional = node.FindMember("additionalProperties");
    const bool closed = additional != node.MemberEnd() && additional->value.IsFalse();
    for (const auto& member : value.GetObject()) {
      const std::string child = pointer + "/" + escape_pointer_token(as_view(member.name));
      if (const auto p = properties.FindMember(member.name); p != properties.MemberEnd()) {
        reported += explain(member.value, p->value, child);
      } else if (closed) {
        const auto allowed = string_list(node, "properties");
        findings_.error("unknown-key",
                        "unknown key " + quote(as_view(member.name)) +
                            did_you_mean(as_view(member.name), allowed) +
                            " (allowed keys: " + join_quoted(allowed) + ")",
                        child, map_.key_offset(child));
        ++reported;
      }
    }
    for (const std::string_view name : string_list(node, "required")) {
      if (find_member(value, name) != value.MemberEnd()) continue;
      std::string hint;
      if (const auto p = find_member(properties, name); p != properties.MemberEnd()) {
        const auto allowed = string_list(schema_.resolve(p->value), "enum");
        if (!allowed.empty()) hint = ", one of " + join_quoted(allowed);
      }
      const std::string_view title = string_member_or(node, "title", "object");
      findings_.error(
          "missing-key",
          (pointer.empty() ? std::string("the document") : "this " + std::string(title)) +
              " is missing required key " + quote(name) + "; add it" + hint,
          pointer, map_.value_offset(pointer));
      ++reported;
    }
    return reported;
  }

  std::size_t explain_array(const json_value& value, const json_value& node,
                            const json_value& items, const std::string& pointer) {
    std::size_t reported = 0;
    const auto min_items = node.FindMember("minItems");
    if (min_items != node.MemberEnd() && min_items->value.IsUint() &&
        value.Size() < min_items->value.GetUint()) {
      leaf(value, node, "minItems", pointer);
      ++reported;
    }
    for (rapidjson::SizeType i = 0; i < value.Size(); ++i) {
      reported += explain(value[i], items, pointer + "/" + std::to_string(i));
    }
    return reported;
  }

  void wrong_type(const json_value& value, const json_value& node, const std::string& pointer) {
    const std::string expected = pointer.empty()
                                     ? "a policy document object or an array of statements"
                                     : describe_types(node);
    findings_.error(
        "wrong-type",
        describe_location(pointer) + " must be " + expected + ", not " + json_type_name(value),
        pointer, map_.value_offset(pointer));
  }

  // A failure at a node that has no children to blame.
  void leaf(const json_value& value, const json_value& node, const std::string& keyword,
            const std::string& pointer) {
    const std::size_t offset = map_.value_offset(pointer);
    const std::string field = last_token(pointer);
    if (keyword == "enum") {
      const auto allowed = string_list(node, "enum");
      const std::string shown = value.IsString() ? quote(as_view(value)) : json_type_name(value);
      const std::string suggestion =
          value.IsString() && !findings_.full() ? did_you_mean(as_view(value), allowed) : "";
      if (field == "effect") {
        findings_.error(
            "bad-effect",
            "effect " + shown + " must be \"allow\" or \"deny\" (case-sensitive)" + suggestion,
            pointer, offset);
      } else if (field == "resourceType") {
        findings_.error(
            "unknown-resource-type",
            "unknown resourceType " + shown + suggestion + " (one of " + join_quoted(allowed) + ")",
            pointer, offset);
      } else {
        findings_.error("schema-violation",
                        quote(field) + " is " + shown + suggestion + "; it must be one of " +
                            join_quoted(allowed),
                        pointer, offset);
      }
    } else if (keyword == "minItems" && value.IsArray() && value.Empty()) {
      findings_.error("empty-array",
                      quote(field) + " is empty; list at least one entry (\"*\" for all)", pointer,
                      offset);
    } else if (keyword == "type") {
      wrong_type(value, node, pointer);
    } else if (keyword == "minLength" && value.IsString() && value.GetStringLength() == 0) {
      findings_.error("schema-violation", quote(field) + " must not be empty", pointer, offset);
    } else {
      findings_.error(
          "schema-violation",
          "value breaks the schema rule " + quote(keyword) + " of schemas/policy.schema.json",
          pointer, offset);
    }
  }

  const compiled_schema& schema_;
  const source_map& map_;
  finding_list& findings_;
};

}  // namespace

void explain_schema_failures(const json_value& value, const std::string& pointer,
                             const source_map& map, finding_list& findings) {
  const compiled_schema& schema = policy_schema();
  schema_explainer(schema, map, findings).explain(value, schema.root(), pointer);
}

}  // namespace gatehouse::policy::detail
