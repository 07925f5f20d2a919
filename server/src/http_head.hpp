// The head of an answer (status line and header fields) written straight into a buffer. An
// answer's fields are few and gatehouse's own, its body complete with a known length: Beast's
// generic serializer cost 13 % of the server's CPU per decision answered (bench/README.md, "HTTP").
#pragma once

#include <gatehouse/server/http_service.hpp>

#include <string>
#include <string_view>

namespace gatehouse::server {

/// Whether an answer with `status` carries a body: not 1xx, 204 or 304 (RFC 9110 §6.4.1).
[[nodiscard]] constexpr bool has_body(unsigned status) noexcept {
  return status >= 200 && status != 204 && status != 304;
}

/// Writes into `head` (emptied first, its allocation kept) the status line and header fields of
/// `response`, answering a request of HTTP `version` (11 for 1.1, as Beast counts): Content-Type
/// and Cache-Control when not empty, `X-Content-Type-Options: nosniff`, the further headers in
/// order, `Connection` when `keep_alive` is not the version's default, and the body's
/// Content-Length when the status has a body; then the empty line. False, with `head` empty,
/// when a name or value holds CR, LF or NUL, which would end or split the head: nothing of it
/// may be sent. The values are the service's own, never a client's bytes, so that is a bug.
[[nodiscard]] bool write_head(std::string& head, unsigned version, const http_response& response,
                              bool keep_alive);

/// The interim answer to `Expect: 100-continue`.
inline constexpr std::string_view continue_head = "HTTP/1.1 100 Continue\r\n\r\n";

}  // namespace gatehouse::server
