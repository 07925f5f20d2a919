// Documents and finding look-ups shared by the loader's tests: one-statement documents with a
// resource or a list in a known place, nested arrays, and the codes a load reported.
#pragma once

#include <gatehouse/policy/document.hpp>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::policy::testing {

inline const char* name_of(severity s) { return s == severity::error ? "error" : "warning"; }

// A one-statement array whose resources line (line 4) holds `rn` at column 19.
inline std::string with_resource(const std::string& rn) {
  return "[\n"
         "  {\"id\": \"s1\", \"resourceType\": \"flag\", \"effect\": \"allow\",\n"
         "   \"actions\": [\"ToggleFlag\"],\n"
         "   \"resources\": [\"" +
         rn + "\"]}\n]\n";
}

inline std::string nested_arrays(std::size_t depth) {
  return "[\n" + std::string(depth - 1, '[') + std::string(depth, ']') + "\n";
}

inline std::string deep_pattern(std::size_t segments) {
  std::string p = "project/a";
  for (std::size_t i = 1; i < segments; ++i) p += ":env/e";
  return p;
}

inline std::string tagged_pattern(std::size_t tags) {
  std::string p = "project/a;t0";
  for (std::size_t i = 1; i < tags; ++i) p += ",t" + std::to_string(i);
  return p;
}

// A one-statement array whose `field` (line 3, value at column 15 for actions and 17 for
// resources) lists `items`.
inline std::string with_list(const std::string& field, const std::vector<std::string>& items) {
  std::string list;
  for (const auto& item : items) list += (list.empty() ? "\"" : ", \"") + item + "\"";
  const std::string actions = field == "actions" ? list : "\"ToggleFlag\"";
  const std::string resources = field == "resources" ? list : "\"project/*:env/*:flag/*\"";
  return "[\n  {\"id\": \"s1\", \"resourceType\": \"flag\", \"effect\": \"allow\",\n   \"" + field +
         "\": [" + (field == "actions" ? actions : resources) + "],\n   \"" +
         (field == "actions" ? "resources" : "actions") + "\": [" +
         (field == "actions" ? resources : actions) + "]}\n]\n";
}

inline std::vector<std::string> flag_patterns(std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i)
    out.push_back("project/p" + std::to_string(i) + ":env/*:flag/*");
  return out;
}

inline std::vector<const finding*> with_code(const load_result& r, std::string_view code) {
  std::vector<const finding*> out;
  for (const finding& f : r.findings) {
    if (f.code == code) out.push_back(&f);
  }
  return out;
}

inline std::vector<std::string> codes(const load_result& r) {
  std::vector<std::string> out;
  for (const finding& f : r.findings) out.push_back(f.code);
  return out;
}

inline bool has_error(const load_result& r) {
  return std::any_of(r.findings.begin(), r.findings.end(),
                     [](const finding& f) { return f.severity == severity::error; });
}

inline const char* const valid_document = R"({
  "id": "p-1", "key": "flag-editors", "name": "Flag editors", "description": "Edit flags",
  "type": "CustomerManaged",
  "statements": [
    {"id": "s1", "resourceType": "flag", "effect": "allow",
     "actions": ["UpdateFlagName", "ToggleFlag"],
     "resources": ["project/web:env/prod:flag/*;beta,ops"]},
    {"id": "s2", "resourceType": "env", "effect": "deny",
     "actions": ["*"], "resources": ["project/*:env/*;us-east", "project/web:env/prod"]}
  ]
})";

}  // namespace gatehouse::policy::testing
