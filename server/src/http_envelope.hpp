// The response envelope `{"success", "errors", "data"}` and the one place where failures become
// HTTP statuses and error codes (SPEC §6). Handlers never name a status code themselves.
#pragma once

#include <gatehouse/iam/errors.hpp>
#include <gatehouse/policy/json.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace gatehouse::server {

/// A finished answer of the API: status and envelope text.
struct reply {
  unsigned status = 200;
  std::string body;
  /// The `ETag` header's value, if any: a policy's version.
  std::string etag;
  /// Why the caller was refused (403), for the audit trail; never sent.
  std::string refusal;
  /// The body is not here: the handler wrote it into the answer in place
  /// (request_context::answer_body), as the decision route does.
  bool in_place = false;
};

/// Which success a handler reports: a read or change (200), or a new resource (201).
enum class success_kind { ok, created };

/// Failures that arise in the HTTP layer itself and have no IAM error code.
enum class http_error {
  /// The path exists, not with this method.
  method_not_allowed,
  /// The body is larger than `http_limits::max_body_bytes`.
  payload_too_large,
  /// The caller already runs as many costly checks as one may at once.
  too_many_requests,
  /// Something unexpected (an exception): nothing about it is told to the caller.
  internal,
};

/// Writes what every envelope begins with, `{"success": …, "errors": [code] or [], "data": `:
/// the caller writes the data value and ends the object.
void write_envelope_head(policy::json_writer& w, bool success, std::string_view code);

/// `data_json` must be one complete JSON value.
[[nodiscard]] reply success_reply(std::string_view data_json, success_kind kind = success_kind::ok);

/// Maps an IAM failure to status, error code and data. The only mapping there is: field errors
/// raised by the HTTP layer (query parameters, body fields) come through here too.
[[nodiscard]] reply failure_reply(const iam::failure& f);

[[nodiscard]] reply error_reply(http_error e);

/// A body that is not JSON: 400 `InvalidJson`, with the parser's message and byte offset in
/// `data` so that the client can find the mistake.
[[nodiscard]] reply invalid_json_reply(std::size_t offset, std::string_view message);

/// The envelope of a failure with one error code and `data: null`; what the transport answers
/// for requests it refuses before they reach the service.
[[nodiscard]] std::string error_envelope(std::string_view code);

}  // namespace gatehouse::server
