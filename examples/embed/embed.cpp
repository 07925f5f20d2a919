// Decisions and containment in-process: a creator's statements loaded from JSON and compiled,
// a few requests decided, and two candidate token scopes checked against the creator's rights.
// Exits 0 only when every answer is the expected one.
#include <gatehouse/engine/compiled_policy.hpp>
#include <gatehouse/engine/containment.hpp>
#include <gatehouse/policy/document.hpp>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace engine = gatehouse::engine;
namespace policy = gatehouse::policy;

namespace {

// May toggle and rename flags in every environment of project web, but not toggle in prod.
constexpr std::string_view creator_statements = R"([
  {"id": "edit-web", "resourceType": "flag", "effect": "allow",
   "actions": ["ToggleFlag", "UpdateFlagName"], "resources": ["project/web:env/*:flag/*"]},
  {"id": "no-prod-toggle", "resourceType": "flag", "effect": "deny",
   "actions": ["ToggleFlag"], "resources": ["project/web:env/prod:flag/*"]}
])";

// A token scope within the creator's rights, and one beyond them (it reaches prod).
constexpr std::string_view dev_token_statements = R"([
  {"id": "toggle-dev", "resourceType": "flag", "effect": "allow",
   "actions": ["ToggleFlag"], "resources": ["project/web:env/dev:flag/*"]}
])";
constexpr std::string_view any_env_token_statements = R"([
  {"id": "toggle-any", "resourceType": "flag", "effect": "allow",
   "actions": ["ToggleFlag"], "resources": ["project/web:env/*:flag/*"]}
])";

// Loads and compiles `json`, the statements of policy `policy_id`; exits on any finding.
std::shared_ptr<const engine::compiled_policy> compile(std::string_view policy_id,
                                                       std::string_view json) {
  policy::load_result loaded = policy::load_policy(json);
  for (const policy::finding& f : loaded.findings) {
    std::cerr << policy::format_finding(policy_id, f) << '\n';
  }
  if (!loaded.ok()) std::exit(2);
  std::vector<engine::sourced_statement> statements;
  for (policy::statement& s : loaded.document->statements) {
    statements.push_back({std::string(policy_id), std::move(s)});
  }
  auto compiled = engine::compiled_policy::compile(statements);
  if (!compiled) {
    std::cerr << policy_id << ": " << engine::describe(compiled.error(), statements) << '\n';
    std::exit(2);
  }
  return *compiled;
}

struct expected_decision {
  std::string_view action;
  std::string_view resource;
  engine::decision expected;
};

}  // namespace

int main() {
  const auto creator = compile("creator", creator_statements);
  bool as_expected = true;

  constexpr std::array requests{
      expected_decision{"ToggleFlag", "project/web:env/dev:flag/dark-mode",
                        engine::decision::allow},
      expected_decision{"ToggleFlag", "project/web:env/prod:flag/dark-mode",
                        engine::decision::explicit_deny},
      expected_decision{"DeleteFlag", "project/web:env/dev:flag/dark-mode",
                        engine::decision::implicit_deny},
  };
  for (const expected_decision& r : requests) {
    std::array<std::uint32_t, 8> determining{};
    const engine::verdict v = creator->evaluate(r.action, r.resource, determining);
    std::cout << "decide " << r.action << ' ' << r.resource << ": "
              << engine::to_string(v.decision);
    for (std::uint32_t i = 0; i < v.written; ++i) {
      std::cout << (i == 0 ? " by " : ", ") << creator->statement(determining[i]).statement_id;
    }
    std::cout << '\n';
    as_expected = as_expected && v.decision == r.expected;
  }

  // A token may only be given statements within its creator's rights.
  const auto dev_token = compile("dev-token", dev_token_statements);
  const auto dev = engine::contains(*creator, *dev_token);
  std::cout << "contains dev-token: " << (dev && dev->contained ? "yes" : "no") << '\n';
  as_expected = as_expected && dev && dev->contained;

  const auto any_env_token = compile("any-env-token", any_env_token_statements);
  const auto any_env = engine::contains(*creator, *any_env_token);
  if (any_env && any_env->counterexample) {
    const engine::request& beyond = *any_env->counterexample;
    std::cout << "contains any-env-token: no, e.g. " << beyond.action << ' ' << beyond.resource
              << '\n';
    // The counterexample is one the token would allow and the creator may not do.
    const bool token_allows =
        any_env_token->decide(beyond.action, beyond.resource) == engine::decision::allow;
    const bool creator_allows =
        creator->decide(beyond.action, beyond.resource) == engine::decision::allow;
    as_expected = as_expected && !any_env->contained && token_allows && !creator_allows;
  } else {
    std::cout << "contains any-env-token: " << (any_env ? "yes" : any_env.error().message())
              << '\n';
    as_expected = false;
  }

  std::cout << (as_expected ? "all as expected" : "UNEXPECTED") << '\n';
  return as_expected ? EXIT_SUCCESS : EXIT_FAILURE;
}
