// What every route handler of the API shares: the request context, the route table's row, and
// the helpers that turn an IAM outcome into the envelope. The handlers live by topic in
// access_routes.cpp (decisions and access tokens), iam_routes.cpp (policies, groups, members)
// and author_routes.cpp (validating and simulating statements that are not stored).
#pragma once

#include "http_envelope.hpp"
#include "http_json.hpp"
#include "http_target.hpp"

#include <gatehouse/iam/service.hpp>
#include <gatehouse/server/http_service.hpp>

#include <rapidjson/document.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::server {

class costly_calls;

/// What a handler may use for one authenticated request.
struct request_context {
  iam::service& iam;
  server::metrics& metrics;
  const http_limits& limits;
  costly_calls& costly;
  const iam::caller& who;
  /// `who` as the access log names it: "member:<id>".
  std::string_view subject;
  std::string_view body;
  /// The `If-Match` header, empty when absent.
  std::string_view if_match;
  const query_parameters& query;
  /// The path parameters, in the order of the route's `{}`.
  std::span<const std::string> params;
  /// The answer's body, empty, with the room the connection's last answer left in it: a handler
  /// on the hot path writes its envelope here (write_success_in_place) instead of returning a
  /// body of its own, and answers without allocating.
  std::string& answer_body;
};

using handler = reply (*)(const request_context&);

struct route {
  std::string_view method;
  /// The path below /api/v1; `{}` stands for one non-empty segment.
  std::string_view pattern;
  handler handle;
  /// For a route that changes something, the audit type of the change: a refusal (403) of it
  /// is recorded in the audit trail, with the first path parameter as its target.
  std::string_view audit_type = {};
};

// ---- Handler helpers -------------------------------------------------------------------------

template <class Write>
std::string json_text(Write&& write) {
  rapidjson::StringBuffer buffer;
  json_writer w(buffer);
  write(w);
  return {buffer.GetString(), buffer.GetSize()};
}

/// The envelope of an IAM outcome: `write(w, value)` produces the data on success.
template <class T, class Write>
reply answer(const iam::outcome<T>& result, Write&& write, success_kind kind = success_kind::ok) {
  if (!result) return failure_reply(result.error());
  return success_reply(json_text([&](json_writer& w) { write(w, *result); }), kind);
}

/// This thread's writer for answers written in place, emptied, with the envelope's head written
/// (write_envelope_head): its buffer keeps its room from one answer to the next.
[[nodiscard]] json_writer& start_success_in_place();
/// Ends the envelope begun by start_success_in_place() and copies it into `ctx.answer_body`.
[[nodiscard]] reply finish_success_in_place(const request_context& ctx);

/// The success envelope with `write(w)`'s data, written into `ctx.answer_body` without an
/// allocation once this thread's buffer and the connection's body have grown to an answer's size.
template <class Write>
reply write_success_in_place(const request_context& ctx, Write&& write) {
  write(start_success_in_place());
  return finish_success_in_place(ctx);
}

/// Deletions and other changes without a resource to show answer `data: true`, as FeatBit does.
inline reply answer(const iam::outcome<void>& result) {
  if (!result) return failure_reply(result.error());
  return success_reply("true");
}

template <class T, class Write>
auto array_of(Write write) {
  return [write](json_writer& w, const std::vector<T>& items) {
    w.StartArray();
    for (const auto& item : items) write(w, item);
    w.EndArray();
  };
}

/// Parses the body, which must be JSON of the given type; the reply to give otherwise.
inline std::optional<reply> read_body(std::string_view body, rapidjson::Document& doc,
                                      rapidjson::Type expected, iam::field field) {
  if (auto error = parse_json(body, doc)) return invalid_json_reply(error->offset, error->message);
  if (doc.GetType() != expected)
    return failure_reply(iam::failure(iam::errc::field_invalid, field));
  return std::nullopt;
}

inline std::optional<reply> read_object_body(std::string_view body, rapidjson::Document& doc) {
  return read_body(body, doc, rapidjson::kObjectType, iam::field::body);
}

inline std::string_view param(const request_context& ctx, std::size_t i) { return ctx.params[i]; }

// ---- Lists -------------------------------------------------------------------------------------

/// Reads `pageIndex` and `pageSize` into `page_index` and `page_size`, which hold the defaults;
/// the reply to give otherwise. The IAM service's page limit bounds the size, and the index is
/// bounded so that `pageIndex * pageSize` cannot overflow.
[[nodiscard]] std::optional<reply> read_paging(const request_context& ctx, std::size_t& page_index,
                                               std::size_t& page_size);

/// The writer of a page answer, `{"totalCount": N, "items": [...]}`, of a type with
/// `total_count` and `items`, each item written by `write_item`.
template <class Page, class WriteItem>
auto page_of(WriteItem write_item) {
  return [write_item](json_writer& w, const Page& p) {
    w.StartObject();
    w.Key("totalCount");
    w.Uint64(p.total_count);
    w.Key("items");
    w.StartArray();
    for (const auto& item : p.items) write_item(w, item);
    w.EndArray();
    w.EndObject();
  };
}

// ---- Requests to decide ------------------------------------------------------------------------

/// The `allowed` and `decision` members every answer to a request begins with.
inline void write_decision_head(json_writer& w, engine::decision d) {
  w.Key("allowed");
  w.Bool(d == engine::decision::allow);
  w.Key("decision");
  write_string(w, engine::to_string(d));
}

/// One request to decide, viewing into the parsed body.
struct check {
  std::string_view action;
  std::string_view resource;
};

/// Reads `{"action", "resource"}`; the failure names the field at fault.
[[nodiscard]] iam::outcome<check> read_check(const rapidjson::Value& v);

/// Reads `checks`, an array of at most `max` checks: every one is read before any is decided, so
/// that a bad batch answers nothing but its error.
[[nodiscard]] iam::outcome<std::vector<check>> read_checks(const rapidjson::Value& checks,
                                                           std::size_t max);

// ---- Policies ----------------------------------------------------------------------------------

/// Reads the body, a statement array held to a stored policy's limits, into `out`; the reply to
/// give otherwise.
[[nodiscard]] std::optional<reply> read_statement_array(const request_context& ctx,
                                                        std::vector<policy::statement>& out);

/// The `ETag` of a policy version: the version in quotes.
[[nodiscard]] std::string policy_etag(std::uint64_t version);

/// The versions an `If-Match` header accepts: any when it is absent or `*`, otherwise those its
/// strong entity tags name (weak ones and malformed ones name none, so they fail as stale).
[[nodiscard]] iam::version_match expected_versions(std::string_view if_match);

/// The routes of SPEC §6.1 by topic, each table with its literal routes before the `{}` ones
/// that could also match them.
[[nodiscard]] std::span<const route> access_routes() noexcept;
[[nodiscard]] std::span<const route> iam_routes() noexcept;
[[nodiscard]] std::span<const route> author_routes() noexcept;

}  // namespace gatehouse::server
