// JSON in and out of the HTTP API: strict body parsing, field readers, and entity writers.
#include "http_json.hpp"

#include <rapidjson/encodings.h>
#include <rapidjson/error/en.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace gatehouse::server {

namespace {

using iam::errc;
using iam::failure;

/// Bytes of a string as a RapidJSON input stream, for UTF8<>::Validate.
struct byte_stream {
  using Ch = char;
  const char* at;
  const char* end;
  [[nodiscard]] Ch Peek() const noexcept { return at < end ? *at : '\0'; }
  Ch Take() noexcept { return at < end ? *at++ : '\0'; }
};

struct discard_stream {
  using Ch = char;
  void Put(Ch /*c*/) noexcept {}
};

/// Whether `text` is well-formed UTF-8 without surrogates. The parser validates the bytes of the
/// body, but a `\udc00` escape decodes to a lone surrogate it lets through; what the API stores
/// and echoes must be valid UTF-8, or its own answers would not be JSON.
bool valid_utf8(std::string_view text) noexcept {
  byte_stream in{text.data(), text.data() + text.size()};
  discard_stream out;
  while (in.at < in.end) {
    if (!rapidjson::UTF8<>::Validate(in, out)) return false;
  }
  return true;
}

bool valid_string(const rapidjson::Value& v) noexcept {
  return valid_utf8({v.GetString(), v.GetStringLength()});
}

/// Checks what the parser does not: nesting depth, string encoding and duplicate keys. Recursion
/// is bounded by `max_json_depth`; the parse itself is iterative.
const char* check_value(const rapidjson::Value& v, std::size_t depth) {
  if (v.IsString()) return valid_string(v) ? nullptr : "Invalid encoding in string.";
  if (!v.IsObject() && !v.IsArray()) return nullptr;
  if (depth >= max_json_depth) return "Nesting is too deep.";
  if (v.IsArray()) {
    for (const auto& item : v.GetArray()) {
      if (const char* why = check_value(item, depth + 1)) return why;
    }
    return nullptr;
  }
  // Two members with one name are read differently by different parsers (first or last wins);
  // refusing them leaves no doubt which value was meant.
  std::vector<std::string_view> keys;
  keys.reserve(v.MemberCount());
  for (const auto& m : v.GetObject()) {
    if (!valid_string(m.name)) return "Invalid encoding in object key.";
    keys.emplace_back(m.name.GetString(), m.name.GetStringLength());
    if (const char* why = check_value(m.value, depth + 1)) return why;
  }
  std::sort(keys.begin(), keys.end());
  if (std::adjacent_find(keys.begin(), keys.end()) != keys.end()) return "Duplicate object key.";
  return nullptr;
}

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

std::string_view to_string(store::token_status s) noexcept {
  switch (s) {
    case store::token_status::inactive:
      return "Inactive";
    case store::token_status::revoked:
      return "Revoked";
    case store::token_status::active:
      break;
  }
  return "Active";
}

}  // namespace

// ---- Reading ---------------------------------------------------------------------------------

std::optional<json_parse_error> parse_json(std::string_view text, rapidjson::Document& doc) {
  // RapidJSON stops at a NUL as at the end of its input, so text after one would be ignored.
  if (const auto nul = text.find('\0'); nul != std::string_view::npos) {
    return json_parse_error{nul, "NUL byte in the body."};
  }
  // Iterative: a body of a million `[` must not exhaust the stack. No kParseStopWhenDoneFlag:
  // anything after the value is an error.
  constexpr unsigned flags = rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag;
  doc.Parse<flags>(text.data(), text.size());
  if (doc.HasParseError()) {
    return json_parse_error{doc.GetErrorOffset(), rapidjson::GetParseError_En(doc.GetParseError())};
  }
  if (const char* why = check_value(doc, 0)) return json_parse_error{0, why};
  return std::nullopt;
}

const rapidjson::Value* find_member(const rapidjson::Value& object, const char* field) noexcept {
  const auto it = object.FindMember(field);
  if (it == object.MemberEnd() || it->value.IsNull()) return nullptr;
  return &it->value;
}

iam::outcome<std::string_view> required_string(const rapidjson::Value& object, const char* field) {
  const rapidjson::Value* value = find_member(object, field);
  if (value == nullptr) return failure(errc::field_required, field);
  if (!value->IsString()) return failure(errc::field_invalid, field);
  if (value->GetStringLength() == 0) return failure(errc::field_required, field);
  return std::string_view(value->GetString(), value->GetStringLength());
}

iam::outcome<std::string_view> optional_string(const rapidjson::Value& object, const char* field) {
  const rapidjson::Value* value = find_member(object, field);
  if (value == nullptr) return std::string_view();
  if (!value->IsString()) return failure(errc::field_invalid, field);
  return std::string_view(value->GetString(), value->GetStringLength());
}

iam::outcome<std::vector<std::string>> optional_string_array(const rapidjson::Value& object,
                                                             const char* field) {
  std::vector<std::string> out;
  const rapidjson::Value* value = find_member(object, field);
  if (value == nullptr) return out;
  if (!value->IsArray()) return failure(errc::field_invalid, field);
  for (const auto& item : value->GetArray()) {
    if (!item.IsString()) return failure(errc::field_invalid, field);
    out.emplace_back(item.GetString(), item.GetStringLength());
  }
  return out;
}

std::string to_json_text(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  json_writer w(buffer);
  value.Accept(w);
  return {buffer.GetString(), buffer.GetSize()};
}

// ---- Writing ---------------------------------------------------------------------------------

void write_string(json_writer& w, std::string_view text) {
  w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

void write_time(json_writer& w, store::timestamp ms) {
  // Up to 9999-12-31T23:59:59.999Z; anything else cannot be a time the service recorded.
  constexpr store::timestamp last = 253'402'300'799'999;
  if (ms <= 0 || ms > last) {
    w.Null();
    return;
  }
  using namespace std::chrono;
  const sys_time<milliseconds> t{milliseconds{ms}};
  const auto day = floor<days>(t);
  const year_month_day date{day};
  const hh_mm_ss time{t - day};
  char text[32];
  const int n = std::snprintf(
      text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(date.year()),
      static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
      static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
      static_cast<int>(time.seconds().count()), static_cast<int>(time.subseconds().count()));
  w.String(text, static_cast<rapidjson::SizeType>(n));
}

void write_statement(json_writer& w, const policy::statement& s) {
  w.StartObject();
  member(w, "id", s.id);
  member(w, "resourceType", s.resource_type);
  member(w, "effect", s.effect == policy::effect::deny ? "deny" : "allow");
  member(w, "actions", s.actions);
  member(w, "resources", s.resources);
  w.EndObject();
}

void write_policy(json_writer& w, const iam::policy_view& p) {
  w.StartObject();
  member(w, "id", p.id);
  member(w, "key", p.key);
  member(w, "name", p.name);
  member(w, "description", p.description);
  member(w, "type", p.type);
  w.Key("statements");
  w.StartArray();
  for (const auto& s : p.statements) write_statement(w, s);
  w.EndArray();
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

void write_token(json_writer& w, const store::token_record& t,
                 const std::optional<std::string>& secret) {
  w.StartObject();
  member(w, "id", t.id);
  member(w, "name", t.name);
  member(w, "type", to_string(t.type));
  member(w, "status", to_string(t.status));
  member(w, "creatorId", t.creator_id);
  w.Key("permissions");
  // Stored as accepted, i.e. as this layer serialized it; parsed again rather than copied raw so
  // that a damaged record can never break the answer's JSON. Damage shows as null, not as `[]`,
  // which would claim an unscoped personal token.
  if (t.permissions_json.empty()) {
    w.StartArray();
    w.EndArray();
  } else if (rapidjson::Document permissions;
             !parse_json(t.permissions_json, permissions) && permissions.IsArray()) {
    permissions.Accept(w);
  } else {
    w.Null();
  }
  member(w, "secretPrefix", t.secret_prefix);
  time_member(w, "createdAt", t.created_at);
  time_member(w, "updatedAt", t.updated_at);
  time_member(w, "lastUsedAt", t.last_used_at);
  if (secret) member(w, "token", *secret);
  w.EndObject();
}

std::string_view to_string(store::token_type t) noexcept {
  return t == store::token_type::service ? "Service" : "Personal";
}

std::optional<store::token_type> parse_token_type(std::string_view text) noexcept {
  if (text == "Personal") return store::token_type::personal;
  if (text == "Service") return store::token_type::service;
  return std::nullopt;
}

}  // namespace gatehouse::server
