// The routes a token's integration calls: decisions (one or a batch) and the access tokens
// themselves (SPEC §6.1, and §11's check and grantable actions for the console).
#include "routes.hpp"

#include <gatehouse/store/utc_time.hpp>

#include "costly_calls.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gatehouse::server {

namespace {

using iam::errc;
using iam::failure;

// ---- Decisions ---------------------------------------------------------------------------------

void write_decision(const request_context& ctx, json_writer& w, const check& c) {
  const auto start = std::chrono::steady_clock::now();
  const iam::decision_result result = ctx.iam.decide(ctx.who, c.action, c.resource);
  ctx.metrics.count_decision(result.decision, std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                  std::chrono::steady_clock::now() - start));
  w.StartObject();
  write_decision_head(w, result.decision);
  w.Key("statements");
  w.StartArray();
  for (const auto& s : result.statements) {
    w.StartObject();
    w.Key("policyId");
    write_string(w, s.policy_id);
    w.Key("statementId");
    write_string(w, s.statement_id);
    w.EndObject();
  }
  w.EndArray();
  w.Key("subject");
  w.StartObject();
  w.Key("kind");
  write_string(w, iam::to_string(ctx.who.kind));
  w.Key("id");
  write_string(w, ctx.who.id);
  w.EndObject();
  w.EndObject();
}

/// Bytes on the stack for the parsed body's values: a single check needs about 600 (an object's
/// first member array takes 512); a batch goes on into RapidJSON's 64 KiB chunks, which would
/// otherwise be taken from the heap for the smallest body too.
constexpr std::size_t decision_body_pool = 2048;

/// The hot path of the API (SPEC §9): the answer is written in place, and the body parsed into
/// the stack as far as it fits.
reply post_decisions(const request_context& ctx) {
  alignas(std::max_align_t) char pool[decision_body_pool];
  rapidjson::MemoryPoolAllocator<> values(pool, sizeof pool);
  rapidjson::Document doc(&values);
  if (auto bad = read_object_body(ctx.body, doc)) return std::move(*bad);
  const rapidjson::Value* checks = find_member(doc, "checks");
  if (checks == nullptr) {
    const auto single = read_check(doc);
    if (!single) return failure_reply(single.error());
    return write_success_in_place(ctx, [&](json_writer& w) { write_decision(ctx, w, *single); });
  }
  // A body that is both a single check and a batch is ambiguous.
  if (doc.HasMember("action") || doc.HasMember("resource")) {
    return failure_reply(failure(errc::field_invalid, iam::field::body));
  }
  const auto batch = read_checks(*checks, ctx.limits.max_batch_checks);
  if (!batch) return failure_reply(batch.error());
  return write_success_in_place(ctx, [&](json_writer& w) {
    w.StartObject();
    w.Key("results");
    w.StartArray();
    for (const auto& c : *batch) write_decision(ctx, w, c);
    w.EndArray();
    w.EndObject();
  });
}

// ---- Access tokens -----------------------------------------------------------------------------

reply list_access_tokens(const request_context& ctx) {
  iam::token_query q;
  const auto name = ctx.query.find("name");
  if (!name) return failure_reply(name.error());
  if (*name) q.name = **name;
  const auto type = ctx.query.find("type");
  if (!type) return failure_reply(type.error());
  // An empty `type=` is what a form with no choice sends: any type.
  if (*type && !(*type)->empty()) {
    q.type = parse_token_type(**type);
    if (!q.type) return failure_reply(failure(errc::field_invalid, iam::field::type));
  }
  const auto status = ctx.query.find("status");
  if (!status) return failure_reply(status.error());
  if (*status && !(*status)->empty()) {
    q.status = parse_list_status(**status);
    if (!q.status) return failure_reply(failure(errc::field_invalid, iam::field::status));
  }
  const auto creator = ctx.query.find("creatorId");
  if (!creator) return failure_reply(creator.error());
  if (*creator) q.creator_id = **creator;
  if (auto bad = read_paging(ctx, q.page_index, q.page_size)) return std::move(*bad);
  return answer(ctx.iam.list_tokens(ctx.who, q), page_of<iam::token_page>(write_token));
}

reply is_access_token_name_used(const request_context& ctx) {
  const auto name = ctx.query.find("name");
  if (!name) return failure_reply(name.error());
  if (!*name || (*name)->empty())
    return failure_reply(failure(errc::field_required, iam::field::name));
  return answer(ctx.iam.is_token_name_used(ctx.who, **name),
                [](json_writer& w, bool used) { w.Bool(used); });
}

struct token_request {
  store::token_type type;
  std::vector<policy::statement> permissions;
};

/// The `type` and `permissions` of a body that asks for a token (to create or to check).
iam::outcome<token_request> read_token_request(const request_context& ctx,
                                               const rapidjson::Document& doc) {
  const auto type_text = required_string(doc, "type");
  if (!type_text) return type_text.error();
  const auto type = parse_token_type(*type_text);
  if (!type) return failure(errc::field_invalid, iam::field::type);
  // An absent list is an empty one: an unscoped personal token (a service token without
  // statements is refused by the service). Findings point into the body.
  token_request out{*type, {}};
  if (find_member(doc, "permissions") != nullptr) {
    auto read = read_statements(ctx.body, "/permissions", iam::field::permissions,
                                policy::token_permissions);
    if (!read) return read.error();
    out.permissions = std::move(*read);
  }
  return out;
}

/// The optional `expiresAt` of a new token: an RFC 3339 time, or absent or null for never.
iam::outcome<store::timestamp> read_expiry(const rapidjson::Document& doc) {
  const rapidjson::Value* value = find_member(doc, "expiresAt");
  if (value == nullptr || value->IsNull()) return store::timestamp{0};
  const auto at = value->IsString()
                      ? store::parse_time({value->GetString(), value->GetStringLength()})
                      : std::nullopt;
  if (!at) {
    return failure(errc::field_invalid, iam::field::expires_at,
                   std::string(store::rfc3339_expected));
  }
  return *at;
}

reply create_access_token(const request_context& ctx) {
  rapidjson::Document doc;
  if (auto bad = read_object_body(ctx.body, doc)) return std::move(*bad);
  const auto name = required_string(doc, "name");
  if (!name) return failure_reply(name.error());
  auto asked = read_token_request(ctx, doc);
  if (!asked) return failure_reply(asked.error());
  const auto expires_at = read_expiry(doc);
  if (!expires_at) return failure_reply(expires_at.error());
  return answer(ctx.iam.create_token(ctx.who, std::string(*name), asked->type,
                                     std::move(asked->permissions), *expires_at),
                write_token, success_kind::created);
}

/// SPEC §11: the containment check of creating, without creating; one of the costly calls.
reply check_access_token(const request_context& ctx) {
  rapidjson::Document doc;
  if (auto bad = read_object_body(ctx.body, doc)) return std::move(*bad);
  auto asked = read_token_request(ctx, doc);
  if (!asked) return failure_reply(asked.error());
  const auto running = ctx.costly.enter(ctx.subject);
  if (!running) return error_reply(http_error::too_many_requests);
  return answer(ctx.iam.check_token(ctx.who, asked->type, std::move(asked->permissions)),
                write_containment);
}

reply grantable_actions(const request_context& ctx) {
  return answer(ctx.iam.grantable(ctx.who), write_grantable);
}

reply rename_access_token(const request_context& ctx) {
  rapidjson::Document doc;
  if (auto bad = read_object_body(ctx.body, doc)) return std::move(*bad);
  const auto name = required_string(doc, "name");
  if (!name) return failure_reply(name.error());
  return answer(ctx.iam.rename_token(ctx.who, param(ctx, 0), std::string(*name)), write_token);
}

/// `POST access-tokens/{id}/rotate` `{"gracePeriodSeconds": N}`: a new secret, shown once.
reply rotate_access_token(const request_context& ctx) {
  rapidjson::Document doc;
  if (auto bad = read_object_body(ctx.body, doc)) return std::move(*bad);
  const rapidjson::Value* grace = find_member(doc, "gracePeriodSeconds");
  if (grace == nullptr) {
    return failure_reply(failure(errc::field_required, iam::field::grace_period_seconds));
  }
  if (!grace->IsUint() || grace->GetUint() > iam::max_rotation_grace_seconds) {
    return failure_reply(
        failure(errc::field_invalid, iam::field::grace_period_seconds, "0 to 604,800 seconds"));
  }
  return answer(ctx.iam.rotate_token(ctx.who, param(ctx, 0), grace->GetUint()), write_token);
}

reply toggle_access_token(const request_context& ctx) {
  return answer(ctx.iam.toggle_token(ctx.who, param(ctx, 0)), write_token);
}

reply delete_access_token(const request_context& ctx) {
  return answer(ctx.iam.delete_token(ctx.who, param(ctx, 0)));
}

}  // namespace

std::span<const route> access_routes() noexcept {
  static constexpr std::array routes = {
      route{"POST", "decisions", post_decisions},
      route{"GET", "access-tokens", list_access_tokens},
      route{"GET", "access-tokens/is-name-used", is_access_token_name_used},
      route{"POST", "access-tokens", create_access_token, iam::audit_type::token_create},
      route{"POST", "access-tokens/check", check_access_token},
      route{"PUT", "access-tokens/{}", rename_access_token, iam::audit_type::token_rename},
      route{"PUT", "access-tokens/{}/toggle", toggle_access_token, iam::audit_type::token_toggle},
      route{"POST", "access-tokens/{}/rotate", rotate_access_token, iam::audit_type::token_rotate},
      route{"DELETE", "access-tokens/{}", delete_access_token, iam::audit_type::token_delete},
      route{"GET", "user/grantable", grantable_actions},
  };
  return routes;
}

}  // namespace gatehouse::server
