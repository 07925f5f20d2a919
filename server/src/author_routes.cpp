// The routes of policy authors (SPEC §11): a policy's text validated as storing it would be,
// requests decided against statements that are not stored, with no identity involved (both for
// members: a token acts for an integration, not for an author), and what replacing a policy's
// statements would change.
#include "costly_calls.hpp"
#include "routes.hpp"

#include <gatehouse/engine/compiled_policy.hpp>
#include <gatehouse/policy/document.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace gatehouse::server {

namespace {

using iam::errc;
using iam::failure;

std::optional<reply> unless_member(const request_context& ctx) {
  if (ctx.who.kind == iam::subject_kind::member) return std::nullopt;
  return failure_reply(failure(errc::forbidden));
}

/// `POST policies/validate`: the body is the text of a policy document or of a statement array;
/// the answer is every finding, as `gatehouse check --stored` reports them. Text that is not JSON
/// is a finding too, not a 400.
reply validate_policy(const request_context& ctx) {
  if (auto refused = unless_member(ctx)) return std::move(*refused);
  const policy::load_result loaded = policy::load_policy(ctx.body, policy::stored_policy);
  return success_reply(json_text([&](json_writer& w) {
    w.StartObject();
    w.Key("findings");
    write_findings(w, loaded.findings);
    w.EndObject();
  }));
}

/// One simulated decision: as `POST decisions` answers it, with the determining statements named
/// by their place in the array (ids may repeat) and their id, and no subject.
void write_simulated(json_writer& w, const engine::compiled_policy& compiled,
                     const engine::verdict& verdict, std::span<const std::uint32_t> determining) {
  w.StartObject();
  write_decision_head(w, verdict.decision);
  w.Key("statements");
  w.StartArray();
  for (std::uint32_t i = 0; i < verdict.written; ++i) {
    w.StartObject();
    w.Key("index");
    w.Uint(determining[i]);
    w.Key("statementId");
    write_string(w, compiled.statement(determining[i]).statement_id);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

/// `POST policies/simulate` `{"statements": [...], "checks": [{action, resource}, ...]}`: the
/// statements under the limits of a stored policy, the checks under those of a batch.
reply simulate_policy(const request_context& ctx) {
  if (auto refused = unless_member(ctx)) return std::move(*refused);
  rapidjson::Document doc;
  if (auto bad = read_object_body(ctx.body, doc)) return std::move(*bad);
  if (find_member(doc, "statements") == nullptr) {
    return failure_reply(failure(errc::field_required, iam::field::statements));
  }
  auto statements =
      read_statements(ctx.body, "/statements", iam::field::statements, policy::stored_policy);
  if (!statements) return failure_reply(statements.error());
  const rapidjson::Value* checks = find_member(doc, "checks");
  if (checks == nullptr) return failure_reply(failure(errc::field_required, iam::field::checks));
  const auto batch = read_checks(*checks, ctx.limits.max_batch_checks);
  if (!batch) return failure_reply(batch.error());

  std::vector<engine::sourced_statement> sourced;
  sourced.reserve(statements->size());
  for (auto& s : *statements) sourced.push_back({"", std::move(s)});
  const auto compiled = engine::compiled_policy::compile(sourced);
  // Validation admits only what compiles; a failure here is a defect, reported as the field's.
  if (!compiled) {
    return failure_reply(failure(errc::field_invalid, iam::field::statements,
                                 engine::describe(compiled.error(), sourced)));
  }
  const engine::compiled_policy& rules = **compiled;
  // Most decisions have a handful of determining statements; one that does not fit is evaluated
  // again with room for every statement.
  std::vector<std::uint32_t> determining(std::min<std::size_t>(rules.statements().size(), 16));
  return success_reply(json_text([&](json_writer& w) {
    w.StartObject();
    w.Key("results");
    w.StartArray();
    for (const auto& c : *batch) {
      auto verdict = rules.evaluate(c.action, c.resource, determining);
      if (verdict.truncated) {
        determining.resize(rules.statements().size());
        verdict = rules.evaluate(c.action, c.resource, determining);
      }
      write_simulated(w, rules, verdict, determining);
    }
    w.EndArray();
    w.EndObject();
  }));
}

void write_requests(json_writer& w, const std::vector<engine::request>& requests) {
  w.StartArray();
  for (const auto& [action, resource] : requests) {
    const std::string json = policy::request_json(action, resource);
    w.RawValue(json.data(), json.size(), rapidjson::kObjectType);
  }
  w.EndArray();
}

void write_preview(json_writer& w, const iam::policy_preview& p) {
  w.StartObject();
  w.Key("grants");
  w.StartObject();
  w.Key("added");
  write_requests(w, p.added);
  w.Key("removed");
  write_requests(w, p.removed);
  w.EndObject();
  w.Key("holders");
  w.StartObject();
  w.Key("members");
  w.Uint64(p.members);
  w.Key("groups");
  w.Uint64(p.groups);
  w.Key("personalTokens");
  w.Uint64(p.personal_tokens);
  w.EndObject();
  w.Key("version");
  w.Uint64(p.version);
  w.EndObject();
}

/// `POST policies/{id}/preview` `[statements]`: what saving them would change, per action, and
/// whom it reaches; one of the costly calls, since it compares both ways.
reply preview_policy(const request_context& ctx) {
  std::vector<policy::statement> statements;
  if (auto bad = read_statement_array(ctx, statements)) return std::move(*bad);
  const auto running = ctx.costly.enter(ctx.subject);
  if (!running) return error_reply(http_error::too_many_requests);
  auto result = ctx.iam.preview_policy(ctx.who, param(ctx, 0), std::move(statements),
                                       expected_versions(ctx.if_match));
  reply r = answer(result, write_preview);
  if (result) r.etag = policy_etag(result->version);
  return r;
}

}  // namespace

std::span<const route> author_routes() noexcept {
  static constexpr std::array routes = {
      route{"POST", "policies/validate", validate_policy},
      route{"POST", "policies/simulate", simulate_policy},
      route{"POST", "policies/{}/preview", preview_policy},
  };
  return routes;
}

}  // namespace gatehouse::server
