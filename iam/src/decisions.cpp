// Decisions on the request path: a caller's compiled rights, narrowed by a personal token's
// scope, asked about one action on one resource.
#include <gatehouse/iam/service.hpp>

#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace gatehouse::iam {

namespace {

// Evaluates with a stack buffer first and a heap one only when the buffer is too small.
engine::decision evaluate_into(const engine::compiled_policy& p, std::string_view action,
                               std::string_view resource, std::vector<statement_ref>& out) {
  std::array<std::uint32_t, 64> buffer;
  auto v = p.evaluate(action, resource, buffer);
  std::span<const std::uint32_t> hits(buffer.data(), v.written);
  std::vector<std::uint32_t> large;
  if (v.truncated) {
    large.resize(p.statements().size());
    v = p.evaluate(action, resource, large);
    hits = std::span<const std::uint32_t>(large.data(), v.written);
  }
  for (const auto i : hits) out.push_back({p.statement(i).policy_id, p.statement(i).statement_id});
  return v.decision;
}

}  // namespace

decision_result service::decide(const caller& who, std::string_view action,
                                std::string_view resource) const {
  decision_result result;
  if (!who.rights) return result;
  result.decision = evaluate_into(*who.rights, action, resource, result.statements);
  if (result.decision != engine::decision::allow || !who.scope) return result;
  std::vector<statement_ref> scoped;
  const auto scoped_decision = evaluate_into(*who.scope, action, resource, scoped);
  if (scoped_decision != engine::decision::allow) return {scoped_decision, std::move(scoped)};
  result.statements.insert(result.statements.end(), scoped.begin(), scoped.end());
  return result;
}

engine::decision service::decide_only(const caller& who, std::string_view action,
                                      std::string_view resource) const noexcept {
  if (!who.rights) return engine::decision::implicit_deny;
  const auto d = who.rights->decide(action, resource);
  if (d != engine::decision::allow || !who.scope) return d;
  return who.scope->decide(action, resource);
}

}  // namespace gatehouse::iam
