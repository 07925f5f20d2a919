// JSON in and out of the HTTP API: strict body parsing, field readers, and entity writers.
#include "http_json.hpp"

#include <gatehouse/store/utc_time.hpp>

#include <gatehouse/policy/document.hpp>

#include <rapidjson/encodings.h>
#include <rapidjson/error/en.h>

#include <algorithm>
#include <chrono>

namespace gatehouse::server {

namespace {

using iam::errc;
using iam::failure;

void write_string_array(json_writer& w, const std::vector<std::string>& items) {
  w.StartArray();
  for (const auto& item : items) write_string(w, item);
  w.EndArray();
}

// One member of an object: its key, then its value.
void member(json_writer& w, const char* key, std::string_view value) {
  w.Key(key);
  write_string(w, value);
}

void member(json_writer& w, const char* key, const std::vector<std::string>& values) {
  w.Key(key);
  write_string_array(w, values);
}

void time_member(json_writer& w, const char* key, store::timestamp ms) {
  w.Key(key);
  write_time(w, ms);
}

}  // namespace

// ---- Reading ---------------------------------------------------------------------------------

const rapidjson::Value* find_member(const rapidjson::Value& object, const char* field) noexcept {
  const auto it = object.FindMember(field);
  if (it == object.MemberEnd() || it->value.IsNull()) return nullptr;
  return &it->value;
}

iam::outcome<std::string_view> required_string(const rapidjson::Value& object, const char* key) {
  const auto field = iam::field_named(key);
  const rapidjson::Value* value = find_member(object, key);
  if (value == nullptr) return failure(errc::field_required, field);
  if (!value->IsString()) return failure(errc::field_invalid, field);
  if (value->GetStringLength() == 0) return failure(errc::field_required, field);
  return std::string_view(value->GetString(), value->GetStringLength());
}

iam::outcome<std::string_view> optional_string(const rapidjson::Value& object, const char* key) {
  const rapidjson::Value* value = find_member(object, key);
  if (value == nullptr) return std::string_view();
  if (!value->IsString()) return failure(errc::field_invalid, iam::field_named(key));
  return std::string_view(value->GetString(), value->GetStringLength());
}

iam::outcome<std::vector<std::string>> optional_string_array(const rapidjson::Value& object,
                                                             const char* key) {
  std::vector<std::string> out;
  const rapidjson::Value* value = find_member(object, key);
  if (value == nullptr) return out;
  if (!value->IsArray()) return failure(errc::field_invalid, iam::field_named(key));
  for (const auto& item : value->GetArray()) {
    if (!item.IsString()) return failure(errc::field_invalid, iam::field_named(key));
    out.emplace_back(item.GetString(), item.GetStringLength());
  }
  return out;
}

iam::outcome<std::vector<policy::statement>> read_statements(std::string_view body,
                                                             std::string_view at, iam::field field,
                                                             const policy::load_options& options) {
  auto loaded = policy::load_statements(body, at, options);
  if (loaded.ok()) return std::move(loaded.document->statements);
  std::erase_if(loaded.findings,
                [](const policy::finding& f) { return f.severity != policy::severity::error; });
  std::string detail = loaded.findings.empty() ? std::string("not valid statements")
                                               : loaded.findings.front().message;
  return failure(errc::field_invalid, field, std::move(detail), std::move(loaded.findings));
}

// ---- Writing ---------------------------------------------------------------------------------

void write_time(json_writer& w, store::timestamp ms) {
  // Up to 9999-12-31T23:59:59.999Z; anything else cannot be a time the service recorded.
  constexpr store::timestamp last = 253'402'300'799'999;
  if (ms <= 0 || ms > last) {
    w.Null();
    return;
  }
  const auto text = store::utc_time(
      std::chrono::sys_time<std::chrono::milliseconds>{std::chrono::milliseconds{ms}});
  w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

void write_statements(json_writer& w, std::span<const policy::statement> statements) {
  const std::string text = policy::to_json(statements);
  w.RawValue(text.data(), text.size(), rapidjson::kArrayType);
}

void write_findings(json_writer& w, std::span<const policy::finding> findings) {
  w.StartArray();
  for (const auto& f : findings) {
    const std::string text = policy::to_json(f);
    w.RawValue(text.data(), text.size(), rapidjson::kObjectType);
  }
  w.EndArray();
}

void write_policy(json_writer& w, const iam::policy_view& p) {
  w.StartObject();
  member(w, "id", p.id);
  member(w, "key", p.key);
  member(w, "name", p.name);
  member(w, "description", p.description);
  member(w, "type", iam::to_string(p.kind));
  w.Key("statements");
  write_statements(w, p.statements);
  w.Key("version");
  w.Uint64(p.version);
  w.EndObject();
}

void write_member(json_writer& w, const store::member_record& m) {
  w.StartObject();
  member(w, "id", m.id);
  member(w, "email", m.email);
  member(w, "policyIds", m.policy_ids);
  time_member(w, "createdAt", m.created_at);
  w.EndObject();
}

void write_group(json_writer& w, const store::group_record& g) {
  w.StartObject();
  member(w, "id", g.id);
  member(w, "name", g.name);
  member(w, "description", g.description);
  member(w, "memberIds", g.member_ids);
  member(w, "policyIds", g.policy_ids);
  time_member(w, "createdAt", g.created_at);
  w.EndObject();
}

void write_token(json_writer& w, const iam::token_view& v) {
  const store::token_record& t = v.record;
  w.StartObject();
  member(w, "id", t.id);
  member(w, "name", t.name);
  member(w, "type", to_string(t.type));
  // An expired token is Expired whatever its active flag; a revoked one stays Revoked.
  member(w, "status",
         v.expired && t.status != store::token_status::revoked ? std::string_view("Expired")
                                                               : to_string(t.status));
  member(w, "creatorId", t.creator_id);
  w.Key("permissions");
  write_statements(w, v.permissions);
  member(w, "secretPrefix", t.secret_prefix);
  time_member(w, "createdAt", t.created_at);
  time_member(w, "updatedAt", t.updated_at);
  time_member(w, "lastUsedAt", t.last_used_at);
  time_member(w, "expiresAt", t.expires_at);
  // After a rotation with a grace period: until when the replaced secret still works.
  time_member(w, "previousSecretValidUntil", t.previous_valid_until);
  // FeatBit's shape; the e-mail is null once the creator has left the organization.
  w.Key("creator");
  w.StartObject();
  member(w, "id", t.creator_id);
  w.Key("email");
  if (v.creator_email.empty()) {
    w.Null();
  } else {
    write_string(w, v.creator_email);
  }
  w.EndObject();
  if (v.secret) member(w, "token", *v.secret);
  w.EndObject();
}

void write_containment(json_writer& w, const engine::containment& c) {
  w.StartObject();
  w.Key("contained");
  w.Bool(c.contained);
  w.Key("counterexample");
  if (c.counterexample) {
    const std::string text =
        policy::request_json(c.counterexample->action, c.counterexample->resource);
    w.RawValue(text.data(), text.size(), rapidjson::kObjectType);
  } else {
    w.Null();
  }
  w.EndObject();
}

void write_grantable(json_writer& w, const std::vector<iam::grantable_actions>& by_type) {
  w.StartObject();
  for (const auto& [type, actions] : by_type) {
    w.Key(type.data(), static_cast<rapidjson::SizeType>(type.size()));
    w.StartArray();
    for (const auto& action : actions) write_string(w, action);
    w.EndArray();
  }
  w.EndObject();
}

std::optional<iam::token_list_status> parse_list_status(std::string_view text) noexcept {
  if (text == "Active") return iam::token_list_status::active;
  if (text == "Inactive") return iam::token_list_status::inactive;
  if (text == "Expired") return iam::token_list_status::expired;
  return std::nullopt;
}

std::optional<store::token_type> parse_token_type(std::string_view text) noexcept {
  if (text == "Personal") return store::token_type::personal;
  if (text == "Service") return store::token_type::service;
  return std::nullopt;
}

void write_audit_record(json_writer& w, const store::audit_record& r, bool with_organization) {
  w.StartObject();
  w.Key("id");
  w.Int64(r.id);
  if (with_organization) member(w, "organizationId", r.organization_id);
  time_member(w, "at", r.at);
  member(w, "actorKind", r.actor_kind);
  member(w, "actorId", r.actor_id);
  member(w, "actorMemberId", r.actor_member_id);
  member(w, "type", r.type);
  member(w, "targetId", r.target_id);
  w.Key("denied");
  w.Bool(r.denied);
  w.Key("summary");
  // Written by the service as one object; anything else would break the envelope, so it is
  // replaced rather than trusted.
  if (r.summary_json.starts_with('{') && r.summary_json.ends_with('}')) {
    w.RawValue(r.summary_json.data(), r.summary_json.size(), rapidjson::kObjectType);
  } else {
    w.StartObject();
    w.EndObject();
  }
  w.EndObject();
}

std::string audit_record_line(const store::audit_record& r) {
  rapidjson::StringBuffer buffer;
  json_writer w(buffer);
  write_audit_record(w, r, true);
  return {buffer.GetString(), buffer.GetSize()};
}

}  // namespace gatehouse::server
