// The HTTP/1.1 server around http_service: accepts connections, enforces the transport limits,
// logs one access-log line per request, reloads on SIGHUP and shuts down gracefully on SIGTERM.
#pragma once

#include <gatehouse/server/http_service.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <thread>

namespace gatehouse::server {

/// Where to listen and the limits of the transport. Every limit bounds what one client can make
/// the server hold: a socket, buffer memory, or time. The body limit is the service's own
/// (`http_limits::max_body_bytes`): the transport reads it from the service it serves.
struct serve_options {
  /// A host name or IP literal, and a port (0: any free port; the one chosen is reported).
  std::string address = "127.0.0.1";
  std::uint16_t port = 8080;
  /// Threads running the I/O loop; each answers requests start to end.
  unsigned threads = std::max(1U, std::thread::hardware_concurrency());
  /// Open connections at most; a connection beyond the cap is closed as soon as it is accepted.
  std::size_t max_connections = 1024;
  /// Open connections from one client address at most, so that one client cannot take the whole
  /// global cap; a connection beyond it is closed as soon as it is accepted.
  std::size_t max_connections_per_client = 64;
  /// Bytes of request line and headers; more is answered 431 and the connection closed.
  std::size_t header_limit = std::size_t{8} * 1024;
  /// Time a request has to arrive whole once its first byte is in (and a new connection has to
  /// send a whole first request): a client trickling its headers (slow loris) is dropped.
  std::chrono::milliseconds read_timeout = std::chrono::seconds(10);
  /// Time a keep-alive connection may wait for its next request.
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(30);
  /// Time a response has to be taken by the client.
  std::chrono::milliseconds write_timeout = std::chrono::seconds(10);
  /// How often `server_hooks::periodic` runs.
  std::chrono::milliseconds periodic_interval = std::chrono::seconds(5);
  /// Where access-log lines go: a file descriptor open for appending that outlives the server;
  /// standard output (beside the event lines) by default; -1 for no access log at all, which
  /// spares each request the line's formatting.
  int access_log_fd = 1;
  /// HTTPS (SPEC §12): a PEM certificate chain and its private key. Both or neither; with
  /// neither, plain HTTP. Only TLS 1.2 and later are offered.
  std::string tls_cert_file;
  std::string tls_key_file;
};

/// What a reload of the built-in policies did; `message` is one line for the log, and never
/// holds a secret.
struct reload_outcome {
  bool ok = false;
  std::string message;
};

/// Reloads the built-in policies (SIGHUP). On failure the old policies must stay in force.
using reload_callback = std::function<reload_outcome()>;

/// Writes one event line, `TIME MESSAGE`, to standard output at once (beside the access log);
/// line breaks in `message` become spaces. Never give it a secret.
void log_event(std::string_view message);

/// Called once the socket listens, with the local endpoint as `HOST:PORT`.
using ready_callback = std::function<void(std::string_view endpoint)>;

/// What the host hooks into the server's life. Each runs on the server's control strand, never
/// two at once, and must not throw.
struct server_hooks {
  /// SIGHUP.
  reload_callback reload;
  /// Once the socket listens.
  ready_callback ready;
  /// Every `serve_options::periodic_interval`, and once more after the last request: the host's
  /// own upkeep, such as writing the access tokens' batched last-used times.
  std::function<void()> periodic;
};

/// Serves `service` until SIGTERM or SIGINT: then stops accepting, lets the requests in flight
/// finish (their connections close after the response), runs `hooks.periodic` a last time and
/// returns 0. A second SIGTERM/SIGINT stops at once and returns 1. Returns 2, having said why on
/// standard error, when the address cannot be resolved or bound. `service_metrics` (the
/// service's) also counts the answers the transport gives itself (413, 431, 400). Access-log and
/// event lines go to standard output. Installs the signal handlers for its own duration: one
/// server per process.
[[nodiscard]] int run_server(http_service& service, metrics& service_metrics,
                             const serve_options& options, server_hooks hooks);

}  // namespace gatehouse::server
