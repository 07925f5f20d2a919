// Checking, reading and compiling the statements of policies and tokens.
#include "statement_cache.hpp"

#include <gatehouse/policy/catalogue.hpp>
#include <gatehouse/policy/limits.hpp>
#include <gatehouse/policy/resource_name.hpp>

namespace gatehouse::iam {

std::shared_ptr<const engine::compiled_policy> compile_statements(
    std::span<const engine::sourced_statement> statements, const failure_reporter& report) {
  auto compiled = engine::compiled_policy::compile_fail_closed(statements);
  for (const auto& e : compiled.failures) report(engine::describe(e, statements));
  return std::move(compiled.policy);
}

namespace {

/// The finding code of a statement that does not compile, as the validator reports the same.
std::string_view finding_code(const engine::compile_error& e) {
  using reason = engine::compile_error::reason;
  switch (e.what) {
    case reason::unknown_action:
      return "unknown-action";
    case reason::bad_resource:
      return policy::finding_code(e.rn.code);
    case reason::too_deep:
      return "rn-too-deep";
    case reason::pattern_too_long:
      return "rn-too-long";
    case reason::too_many_tags:
      return "rn-too-many-tags";
    case reason::too_many_actions:
      return "too-many-actions";
    case reason::too_many_resources:
      return "too-many-resources";
    case reason::nothing_listed:
      break;
  }
  return "empty-array";
}

/// The JSON pointer of statement `index` in the statement list.
std::string statement_pointer(std::size_t index) {
  std::string out(1, '/');
  out += std::to_string(index);
  return out;
}

/// Where in the statement list a compile error is.
std::string pointer_of(const engine::compile_error& e) {
  using reason = engine::compile_error::reason;
  const std::string out = statement_pointer(e.statement_index);
  switch (e.what) {
    case reason::unknown_action:
      return out + "/actions/" + std::to_string(e.item_index);
    case reason::bad_resource:
    case reason::too_deep:
    case reason::pattern_too_long:
    case reason::too_many_tags:
      return out + "/resources/" + std::to_string(e.item_index);
    case reason::too_many_actions:
      return out + "/actions";
    case reason::too_many_resources:
      return out + "/resources";
    case reason::nothing_listed:
      break;
  }
  return out;
}

/// What the schema says of a statement that typed values can still get wrong.
void check_statement_fields(const policy::statement& s, std::size_t index,
                            std::vector<policy::finding>& findings) {
  const std::string at = statement_pointer(index);
  if (s.id.empty()) {
    findings.push_back({policy::severity::error, "schema-violation", "\"id\" must not be empty",
                        at + "/id", 0, 0});
  }
  if (s.resource_type != "*" && !policy::is_resource_type(s.resource_type)) {
    findings.push_back({policy::severity::error, "unknown-resource-type",
                        "unknown resourceType \"" + s.resource_type + "\"", at + "/resourceType", 0,
                        0});
  }
}

/// The limits of `options` on the statement count and on the scanning globs of `compiled`.
void check_set_limits(std::size_t statements, const engine::compiled_policy& compiled,
                      const policy::load_options& options, std::vector<policy::finding>& findings) {
  const auto limit = [&](const char* code, std::string message) {
    findings.push_back({policy::severity::error, code, std::move(message), "", 0, 0});
  };
  if (statements > options.max_statements) {
    limit("too-many-statements", std::to_string(statements) + " statements; at most " +
                                     std::to_string(options.max_statements) +
                                     " can be stored here");
  }
  std::size_t scanning = 0;
  for (const auto& s : compiled.statements()) {
    for (const auto& pattern : s.patterns) scanning += policy::scanning_globs(pattern);
  }
  if (scanning > options.max_scanning_globs) {
    limit("too-many-scanning-globs", std::to_string(scanning) +
                                         " globs that scan a name (such as *web*); at most " +
                                         std::to_string(options.max_scanning_globs));
  }
}

}  // namespace

outcome<void> validate_new_statements(std::span<const policy::statement> statements,
                                      iam::field field, const policy::load_options& options) {
  std::vector<policy::finding> findings;
  std::vector<engine::sourced_statement> sourced;
  sourced.reserve(statements.size());
  for (std::size_t i = 0; i < statements.size(); ++i) {
    check_statement_fields(statements[i], i, findings);
    sourced.push_back({"", statements[i]});
  }
  const auto compiled = engine::compiled_policy::compile_fail_closed(sourced);
  for (const auto& e : compiled.failures) {
    findings.push_back({policy::severity::error, std::string(finding_code(e)),
                        engine::describe(e, sourced), pointer_of(e), 0, 0});
  }
  check_set_limits(statements.size(), *compiled.policy, options, findings);
  if (findings.empty()) return {};
  auto detail = findings.front().message;
  return failure(errc::field_invalid, field, std::move(detail), std::move(findings));
}

outcome<std::vector<policy::statement>> read_stored_statements(
    std::string_view json, const policy::load_options& options) {
  auto loaded = policy::load_policy(json, options);
  if (loaded.ok()) return std::move(loaded.document->statements);
  if (auto as_stored = policy::read_statements_as_stored(json)) return std::move(*as_stored);
  return failure(errc::storage_failure, "stored statements are not a JSON statement array");
}

std::shared_ptr<const statement_set> make_statement_set(std::string json,
                                                        std::vector<policy::statement> statements,
                                                        const failure_reporter& report) {
  std::vector<engine::sourced_statement> sourced;
  sourced.reserve(statements.size());
  for (const auto& s : statements) sourced.push_back({std::string(token_policy_id), s});
  auto set = std::make_shared<statement_set>();
  set->json = std::move(json);
  set->statements = std::move(statements);
  set->compiled = compile_statements(sourced, report);
  return set;
}

}  // namespace gatehouse::iam
