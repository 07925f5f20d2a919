// The response envelope and the mapping of every failure to an HTTP status and error code.
#include "http_envelope.hpp"

#include "http_json.hpp"

#include <gatehouse/policy/document.hpp>

namespace gatehouse::server {

namespace {

using iam::errc;

/// One row of the mapping: status, error code, and the envelope's `data` as JSON text.
struct error_row {
  unsigned status = 500;
  std::string code;
  std::string data = "null";
};

reply envelope(unsigned status, bool success, std::string_view code, std::string_view data_json) {
  rapidjson::StringBuffer buffer;
  json_writer w(buffer);
  write_envelope_head(w, success, code);
  w.RawValue(data_json.data(), data_json.size(), rapidjson::kObjectType);
  w.EndObject();
  reply r;
  r.status = status;
  r.body.assign(buffer.GetString(), buffer.GetSize());
  return r;
}

/// `{"message": detail}` for failures whose detail helps the caller fix the request, with the
/// validation findings when there are any, and the current version of what a stale write was
/// made against. Details are never secret (errors.hpp); they name limits and problems of the
/// caller's own input.
std::string message_data(const iam::failure& f) {
  if (f.detail.empty() && f.findings.empty() && !f.current_version) return "null";
  rapidjson::StringBuffer buffer;
  json_writer w(buffer);
  w.StartObject();
  if (!f.detail.empty()) {
    w.Key("message");
    write_string(w, f.detail);
  }
  if (!f.findings.empty()) {
    w.Key("findings");
    write_findings(w, f.findings);
  }
  if (f.current_version) {
    w.Key("version");
    w.Uint64(*f.current_version);
  }
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

/// `{field}_is_required` or `{field}_is_invalid`, FeatBit's codes for a field error.
std::string field_code(const iam::failure& f, std::string_view suffix) {
  return std::string(iam::wire_name(f.field)) + std::string(suffix);
}

error_row map_failure(const iam::failure& f) {
  switch (f.code) {
    case errc::unauthorized:
      // Never the detail: why a credential failed is for the log, not for whoever holds it.
      return {401, "Unauthorized"};
    case errc::token_expired:
      // Said apart (SPEC §13): only a valid secret learns it, and what fixes it is a new token.
      return {401, "TokenExpired"};
    case errc::forbidden: {
      if (!f.counterexample) return {403, "Forbidden"};
      const auto& [action, resource] = *f.counterexample;
      return {403, "Forbidden",
              R"({"counterexample":)" + policy::request_json(action, resource) + "}"};
    }
    case errc::field_required:
      return {400, field_code(f, "_is_required")};
    case errc::field_invalid:
      return {400, field_code(f, "_is_invalid"), message_data(f)};
    case errc::not_found:
      return {404, "ResourceNotFound"};
    case errc::conflict:
      return {409, "Conflict", message_data(f)};
    case errc::name_used:
      return {422, "NameHasBeenUsed"};
    case errc::key_used:
      return {422, "KeyHasBeenUsed"};
    case errc::sys_managed_policy:
      return {422, "CannotModifySysManagedPolicy"};
    case errc::limit_exceeded:
      // One fixed code, the limit named in `data.message`: limits are few and their wording may
      // change, codes may not.
      return {400, "LimitExceeded", message_data(f)};
    case errc::last_owner:
      return {422, "LastOwner", message_data(f)};
    case errc::too_many_statements:
      return {422, "TooManyStatements", message_data(f)};
    case errc::check_too_complex:
      return {403, "CheckTooComplex", message_data(f)};
    case errc::store_unavailable:
      // Another instance, or this one a moment later, can do it: worth a retry.
      return {503, "StoreUnavailable"};
    case errc::randomness_unavailable:
    case errc::bad_builtins:
    case errc::storage_failure:
      // The store's message names internals; the caller learns only that nothing was changed.
      return {500, "InternalServerError"};
  }
  // A code added to the IAM service and not mapped here: fail closed.
  return {500, "InternalServerError"};
}

}  // namespace

void write_envelope_head(json_writer& w, bool success, std::string_view code) {
  w.StartObject();
  w.Key("success");
  w.Bool(success);
  w.Key("errors");
  w.StartArray();
  if (!code.empty()) write_string(w, code);
  w.EndArray();
  w.Key("data");
}

reply success_reply(std::string_view data_json, success_kind kind) {
  return envelope(kind == success_kind::created ? 201 : 200, true, {}, data_json);
}

reply failure_reply(const iam::failure& f) {
  const error_row row = map_failure(f);
  reply r = envelope(row.status, false, row.code, row.data);
  if (r.status == 403) r.refusal = f.detail.empty() ? std::string(row.code) : f.detail;
  return r;
}

reply error_reply(http_error e) {
  switch (e) {
    case http_error::method_not_allowed:
      return envelope(405, false, "MethodNotAllowed", "null");
    case http_error::payload_too_large:
      return envelope(413, false, "PayloadTooLarge", "null");
    case http_error::too_many_requests:
      return envelope(429, false, "TooManyRequests", "null");
    case http_error::internal:
      break;
  }
  return envelope(500, false, "InternalServerError", "null");
}

reply invalid_json_reply(std::size_t offset, std::string_view message) {
  rapidjson::StringBuffer buffer;
  json_writer w(buffer);
  w.StartObject();
  w.Key("message");
  write_string(w, message);
  w.Key("offset");
  w.Uint64(offset);
  w.EndObject();
  return envelope(400, false, "InvalidJson", {buffer.GetString(), buffer.GetSize()});
}

std::string error_envelope(std::string_view code) {
  return envelope(500, false, code, "null").body;
}

}  // namespace gatehouse::server
