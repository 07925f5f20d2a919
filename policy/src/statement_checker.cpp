// The semantic checks of SPEC §2.5 that the schema cannot express: known actions of the right
// resource type, resource names that parse within the limits and can match, unique statement
// ids, and the limits of the whole statement set.
#include "statement_checker.hpp"

#include "message_text.hpp"
#include "near_miss.hpp"
#include "rn_fix.hpp"

#include <gatehouse/policy/catalogue.hpp>
#include <gatehouse/policy/limits.hpp>
#include <gatehouse/policy/resource_name.hpp>

#include <algorithm>
#include <array>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace gatehouse::policy::detail {
namespace {

// The 1-based character number of byte `offset` in UTF-8 `text`.
std::size_t character_number(std::string_view text, std::size_t offset) {
  return utf8_length(text.substr(0, offset)) + 1;
}

const std::vector<std::string_view>& action_names() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> out;
    out.reserve(action_catalogue.size());
    for (const action_info& a : action_catalogue) out.push_back(a.name);
    return out;
  }();
  return names;
}

// The segment types FeatBit's resource names can have, in order (SPEC §2.2). A resource name is
// one of the roots below, or project, project:env, project:env:flag, project:env:segment.
bool is_producible_shape(const resource_pattern& pattern) {
  if (pattern.segments.size() == 1 && pattern.segments[0].path == "*") return true;
  static constexpr std::array<std::array<std::string_view, 3>, 9> shapes = {{
      {"workspace"},
      {"organization"},
      {"iam"},
      {"access-token"},
      {"relay-proxy"},
      {"project"},
      {"project", "env"},
      {"project", "env", "flag"},
      {"project", "env", "segment"},
  }};
  const auto& segments = pattern.segments;
  return std::any_of(shapes.begin(), shapes.end(), [&](const auto& shape) {
    const auto length = static_cast<std::size_t>(
        std::find(shape.begin(), shape.end(), std::string_view{}) - shape.begin());
    if (segments.size() != length) return false;
    for (std::size_t i = 0; i < length; ++i) {
      const std::string_view path = segments[i].path;
      const std::string_view type = path.substr(0, path.find('/'));
      // A glob in the type can stand for any type, so it never rules a shape out.
      if (type.find('*') == std::string_view::npos && type != shape[i]) return false;
    }
    return true;
  });
}

std::string type_sequence(const resource_pattern& pattern) {
  std::string out;
  for (const segment_pattern& s : pattern.segments) {
    if (!out.empty()) out += ':';
    out += std::string_view(s.path).substr(0, s.path.find('/'));
  }
  return out;
}

class statement_checker {
 public:
  statement_checker(const source_map& map, finding_list& findings, const load_options& options)
      : map_(map), findings_(findings), options_(options) {}

  void check(const json_value& stmt, const std::string& pointer) {
    if (!stmt.IsObject()) return;
    const std::string_view resource_type = string_member_or(stmt, "resourceType", {});
    const bool any_type = resource_type == "*";

    if (const auto id = stmt.FindMember("id");
        id != stmt.MemberEnd() && id->value.IsString() && id->value.GetStringLength() > 0) {
      const auto [first, inserted] =
          first_with_id_.try_emplace(std::string(as_view(id->value)), pointer);
      if (!inserted) {
        const std::string at = pointer + "/id";
        findings_.warning("duplicate-statement-id",
                          "statement id " + quote(as_view(id->value)) +
                              " is already used by the statement at " + first->second +
                              "; give each statement its own id so decisions can name it",
                          at, map_.value_offset(at));
      }
    }

    if (const json_value* actions = array_member(stmt, "actions")) {
      check_count(*actions, max_statement_actions, "too-many-actions", "actions",
                  pointer + "/actions");
      check_actions(*actions, resource_type, pointer + "/actions");
      if (any_type) warn_ignored(*actions, "actions", pointer + "/actions");
    }
    if (const json_value* resources = array_member(stmt, "resources")) {
      check_count(*resources, max_statement_resources, "too-many-resources", "resources",
                  pointer + "/resources");
      const bool all_parsed = check_resources(*resources, pointer + "/resources", !any_type);
      if (any_type) {
        warn_ignored(*resources, "resources", pointer + "/resources");
      } else if (all_parsed && !resources->Empty() && is_resource_type(resource_type)) {
        check_shapes(*resources, pointer + "/resources");
      }
    }
  }

 private:
  static const json_value* array_member(const json_value& obj, const char* name) {
    const auto it = obj.FindMember(name);
    return it != obj.MemberEnd() && it->value.IsArray() ? &it->value : nullptr;
  }

  void check_count(const json_value& list, std::size_t limit, const char* code, const char* field,
                   const std::string& pointer) {
    if (list.Size() <= limit) return;
    findings_.error(code,
                    std::string("\"") + field + "\" has " + std::to_string(list.Size()) +
                        " entries; a statement may have at most " + std::to_string(limit) +
                        "; split it into several statements",
                    pointer, map_.value_offset(pointer));
  }

  void check_actions(const json_value& actions, std::string_view resource_type,
                     const std::string& pointer) {
    for (rapidjson::SizeType i = 0; i < actions.Size(); ++i) {
      if (!actions[i].IsString()) continue;
      const std::string_view name = as_view(actions[i]);
      if (name == any_action) continue;
      const std::string at = pointer + "/" + std::to_string(i);
      const action_id id = find_action(name);
      if (id == unlisted_action) {
        findings_.error("unknown-action",
                        "unknown action " + quote(name) +
                            (findings_.full() ? "" : did_you_mean(name, action_names())) +
                            " (actions are case-sensitive; see SPEC 2.4, or use \"*\")",
                        at, map_.value_offset(at));
      } else if (is_resource_type(resource_type) &&
                 action_catalogue[id].resource_type != resource_type) {
        findings_.warning("action-type-mismatch",
                          "action " + quote(name) + " belongs to resource type " +
                              quote(action_catalogue[id].resource_type) +
                              ", but this statement's resourceType is " + quote(resource_type) +
                              "; move it to a " + quote(action_catalogue[id].resource_type) +
                              " statement",
                          at, map_.value_offset(at));
      }
    }
  }

  // Returns whether every resource is a string that parses.
  // `compiled`: whether the patterns will be compiled (not so under resourceType "*"), and so
  // count toward the scanning globs.
  bool check_resources(const json_value& resources, const std::string& pointer, bool compiled) {
    bool all_parsed = true;
    for (rapidjson::SizeType i = 0; i < resources.Size(); ++i) {
      if (!resources[i].IsString()) {
        all_parsed = false;
        continue;
      }
      const std::string_view text = as_view(resources[i]);
      const std::string at = pointer + "/" + std::to_string(i);
      if (text.size() > max_pattern_bytes) {
        all_parsed = false;
        findings_.error("rn-too-long",
                        "resource " + quote(text) + " has " + std::to_string(text.size()) +
                            " bytes; a pattern may have at most " +
                            std::to_string(max_pattern_bytes) + "; shorten it or use \"*\"",
                        at, map_.value_offset(at));
        continue;
      }
      const auto parsed = parse_resource_pattern(text);
      if (parsed) {
        all_parsed = check_pattern_limits(*parsed, text, at) && all_parsed;
        if (compiled) count_scanning_globs(*parsed, at);
        continue;
      }
      all_parsed = false;
      const rn_error e = parsed.error();
      findings_.error(std::string(finding_code(e.code)),
                      "resource " + quote(text) + ": " + make_error_code(e.code).message() +
                          " at character " + std::to_string(character_number(text, e.offset)) +
                          "; " + std::string(rn_fix(e.code)),
                      at, offset_inside_string(map_.value_offset(at), e.offset));
    }
    return all_parsed;
  }

  // Adds the pattern's scanning globs to the set's, reporting where the set first goes over.
  void count_scanning_globs(const resource_pattern& pattern, const std::string& at) {
    const std::size_t before = scanning_globs_;
    scanning_globs_ += scanning_globs(pattern);
    if (before > options_.max_scanning_globs || scanning_globs_ <= options_.max_scanning_globs) {
      return;
    }
    findings_.add(
        options_.over_set_limits, "too-many-scanning-globs",
        "this pattern brings the globs that scan a name to " + std::to_string(scanning_globs_) +
            "; " +
            (options_.over_set_limits == severity::error ? "at most "
                                                         : "the service stores at most ") +
            std::to_string(options_.max_scanning_globs) +
            " (a glob with text of two or more bytes between two stars, like *web*, "
            "or a tag glob other than a literal, * or a prefix like beta*, costs the "
            "length of the name on every decision); use literals, prefixes or *",
        at, map_.value_offset(at));
  }

  // Reports the segment and tag limits; returns whether the pattern is within them.
  bool check_pattern_limits(const resource_pattern& pattern, std::string_view text,
                            const std::string& at) {
    if (pattern.segments.size() > max_pattern_segments) {
      findings_.error(
          "rn-too-deep",
          "resource " + quote(text) + " has " + std::to_string(pattern.segments.size()) +
              " segments; a pattern may have at most " + std::to_string(max_pattern_segments) +
              " (resource names have at most 4); a shorter pattern already matches "
              "everything below it",
          at, map_.value_offset(at));
      return false;
    }
    for (std::size_t i = 0; i < pattern.segments.size(); ++i) {
      const std::size_t tags = pattern.segments[i].tags.size();
      if (tags <= max_segment_tags) continue;
      findings_.error("rn-too-many-tags",
                      "resource " + quote(text) + ": segment " + std::to_string(i + 1) + " has " +
                          std::to_string(tags) + " tags; a segment may have at most " +
                          std::to_string(max_segment_tags) + "; use a tag glob such as \"beta-*\"",
                      at, map_.value_offset(at));
      return false;
    }
    return true;
  }

  // The byte offset of character `offset` of the string whose opening quote is at `quote_at`;
  // escapes before it make raw and decoded offsets differ, and then the string start is used.
  std::size_t offset_inside_string(std::size_t quote_at, std::size_t offset) const {
    const std::string_view raw = map_.text().substr(quote_at);
    if (raw.empty() || raw[0] != '"') return quote_at;
    const std::string_view before = raw.substr(1, offset);
    if (before.size() < offset || before.find('\\') != std::string_view::npos) return quote_at;
    return quote_at + 1 + offset;
  }

  void warn_ignored(const json_value& list, const char* field, const std::string& pointer) {
    if (list.Size() == 1 && list[0].IsString() && as_view(list[0]) == "*") return;
    findings_.warning("ignored-fields",
                      std::string("resourceType \"*\" matches every request, so \"") + field +
                          "\" is ignored; write [\"*\"] to say so, or name a resourceType",
                      pointer, map_.value_offset(pointer));
  }

  void check_shapes(const json_value& resources, const std::string& pointer) {
    std::string example;
    for (const auto& r : resources.GetArray()) {
      const auto parsed = parse_resource_pattern(as_view(r));
      if (!parsed || is_producible_shape(*parsed)) return;
      if (example.empty()) example = type_sequence(*parsed);
    }
    findings_.warning(
        "never-matches",
        "no resource here can match: resource names have the shapes workspace, organization, "
        "iam, access-token, relay-proxy, project, project:env, project:env:flag or "
        "project:env:segment, but " +
            quote(example) +
            " is none of them; e.g. write \"project/*:env/*:flag/x\" instead of \"flag/x\"",
        pointer, map_.value_offset(pointer));
  }

  const source_map& map_;
  finding_list& findings_;
  const load_options& options_;
  std::unordered_map<std::string, std::string> first_with_id_;
  std::size_t scanning_globs_ = 0;
};

}  // namespace

void check_statements(const json_value& statements, const std::string& pointer,
                      const source_map& map, finding_list& findings, const load_options& options) {
  if (statements.Size() > options.max_statements) {
    findings.add(options.over_set_limits, "too-many-statements",
                 std::to_string(statements.Size()) + " statements; " +
                     (options.over_set_limits == severity::error
                          ? "at most " + std::to_string(options.max_statements) +
                                " can be stored here; split them over several policies"
                          : "the service stores at most " + std::to_string(options.max_statements) +
                                " per policy; split them over several policies"),
                 pointer, map.value_offset(pointer));
  }
  statement_checker checker(map, findings, options);
  for (rapidjson::SizeType i = 0; i < statements.Size(); ++i) {
    checker.check(statements[i], pointer + "/" + std::to_string(i));
  }
}

}  // namespace gatehouse::policy::detail
