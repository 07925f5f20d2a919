// One HTTP/1.1 connection over Boost.Beast: reads a request at a time within the transport's
// limits, hands it to http_service and writes the answer back. The only translation unit that
// instantiates Beast's HTTP parser and serializer.
#include "session.hpp"

#include "http_envelope.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gatehouse::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using steady_clock = std::chrono::steady_clock;

namespace {

std::string_view to_std(beast::string_view s) noexcept { return {s.data(), s.size()}; }

}  // namespace

/// One connection: reads a request, answers it, and repeats while the client keeps the
/// connection alive. All its handlers run on its own strand.
class session : public std::enable_shared_from_this<session> {
 public:
  /// Holds one of `remote`'s slots in `state.clients`, which it gives back when it ends.
  session(tcp::socket&& socket, server_state& state, const tcp::endpoint& remote)
      : stream_(std::move(socket)),
        // The buffer holds one request's headers and at most one read beyond them; the parser
        // moves body bytes out of it as they arrive.
        buffer_(state.options.header_limit + read_chunk),
        state_(state),
        client_(remote.address()),
        remote_(to_string(remote)) {}

  ~session() {
    {
      const std::lock_guard lock(state_.sessions_mutex);
      state_.sessions.erase(this);
    }
    state_.clients.release(client_);
    const auto left = state_.connections.fetch_sub(1) - 1;
    if (left == 0 && state_.stopping.load() && !state_.io_stopped.load()) state_.on_drained();
  }

  session(const session&) = delete;
  session& operator=(const session&) = delete;

  void start() {
    {
      const std::lock_guard lock(state_.sessions_mutex);
      state_.sessions.emplace(this, weak_from_this());
    }
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&session::do_wait_for_request, shared_from_this()));
  }

  /// Shutdown: a connection waiting for its next request is closed now; one in the middle of a
  /// request gets its answer first (with `Connection: close`).
  void stop() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      if (self->idle_) self->stream_.close();
    });
  }

 private:
  /// Bytes asked of the socket per read while waiting for a request.
  static constexpr std::size_t first_read = 4096;
  /// Bytes the buffer may hold beyond the header limit: one read of Beast's parser.
  static constexpr std::size_t read_chunk = std::size_t{64} * 1024;
  /// How long an early answer's leftover input is read and discarded at most.
  static constexpr std::chrono::seconds drain_timeout{2};

  // ---- Reading a request ----------------------------------------------------------------------

  void do_wait_for_request() {
    idle_ = true;
    // Bytes of a pipelined request are already here: no waiting.
    if (buffer_.size() > 0) return start_request();
    if (state_.stopping.load()) return do_close();
    stream_.expires_after(first_request_ ? state_.options.read_timeout
                                         : state_.options.idle_timeout);
    stream_.async_read_some(
        buffer_.prepare(first_read),
        beast::bind_front_handler(&session::on_wait_for_request, shared_from_this()));
  }

  void on_wait_for_request(beast::error_code ec, std::size_t bytes) {
    // A timeout, the client closing, or shutdown closing an idle connection: nothing to answer.
    if (ec) return;
    buffer_.commit(bytes);
    start_request();
  }

  void start_request() {
    idle_ = false;
    started_ = steady_clock::now();
    // The whole request must be in by this deadline, however slowly it trickles.
    request_deadline_ = started_ + state_.options.read_timeout;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(state_.options.header_limit));
    parser_->body_limit(state_.service.limits().max_body_bytes);
    // Most requests arrive whole with their first bytes: parsing them straight from the buffer
    // saves the asynchronous steps (and their timers) of a read that needs no I/O.
    beast::error_code ec;
    while (buffer_.size() > 0 && !parser_->is_done() && !ec) {
      buffer_.consume(parser_->put(buffer_.data(), ec));
    }
    if (ec && ec != http::error::need_more) return on_read_error(ec);
    continue_request();
  }

  /// Reads what the request still lacks, or answers it.
  void continue_request() {
    if (parser_->is_done()) return handle();
    if (!parser_->is_header_done()) return do_read_header();
    if (beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
      return do_write_continue();
    }
    do_read_body();
  }

  void do_read_header() {
    stream_.expires_at(request_deadline_);
    http::async_read_header(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&session::on_read_header, shared_from_this()));
  }

  void on_read_header(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec) return on_read_error(ec);
    continue_request();
  }

  // A client that sent `Expect: 100-continue` waits for this before sending its body (curl does
  // for bodies over 1 KiB); a body over the limit was already refused with the header.
  void do_write_continue() {
    continue_.version(11);
    continue_.result(http::status::continue_);
    stream_.expires_after(state_.options.write_timeout);
    http::async_write(stream_, continue_,
                      beast::bind_front_handler(&session::on_write_continue, shared_from_this()));
  }

  void on_write_continue(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec) return;
    do_read_body();
  }

  void do_read_body() {
    stream_.expires_at(request_deadline_);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&session::on_read_body, shared_from_this()));
  }

  void on_read_body(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec) return on_read_error(ec);
    handle();
  }

  void on_read_error(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      return answer_error(http::status::payload_too_large, "PayloadTooLarge");
    }
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
      return answer_error(http::status::request_header_fields_too_large,
                          "RequestHeaderFieldsTooLarge");
    }
    if (ec == beast::error::timeout) {
      log_event(remote_ + " closed: request incomplete after " +
                std::to_string(state_.options.read_timeout.count()) + " ms");
      return;
    }
    // The client went away mid-request: nobody to answer.
    if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
        ec == net::error::eof || ec == net::error::connection_reset ||
        ec == net::error::operation_aborted) {
      return;
    }
    // Anything else is a request Beast cannot parse.
    answer_error(http::status::bad_request, "BadRequest");
  }

  // ---- Answering it ---------------------------------------------------------------------------

  void handle() {
    auto& request = parser_->get();
    // Two credentials or two organizations are ambiguous; the service would see only the first.
    if (request.count(http::field::authorization) > 1 || request.count("Organization") > 1) {
      return answer_error(http::status::bad_request, "BadRequest");
    }
    const http_request view{
        .method = to_std(request.method_string()),
        .target = to_std(request.target()),
        .authorization = to_std(request[http::field::authorization]),
        .organization = to_std(request["Organization"]),
        .if_none_match = to_std(request[http::field::if_none_match]),
        .if_match = to_std(request[http::field::if_match]),
        .body = request.body(),
    };
    http_response answer = state_.service.handle_request(view);

    response_ = {};
    response_.version(request.version());
    response_.result(answer.status);
    if (!answer.content_type.empty()) response_.set(http::field::content_type, answer.content_type);
    response_.set(http::field::cache_control, answer.cache_control);
    response_.set("X-Content-Type-Options", "nosniff");
    for (const auto& [name, value] : answer.headers) response_.set(name, value);
    response_.body() = std::move(answer.body);
    response_.keep_alive(request.keep_alive() && !state_.stopping.load());
    response_.prepare_payload();
    subject_ = std::move(answer.subject);
    do_write(false);
  }

  /// Answers a request the transport refuses itself, then closes the connection: what is left
  /// of the request cannot be skipped reliably.
  void answer_error(http::status status, std::string_view code) {
    state_.metrics.count_response(static_cast<unsigned>(status));
    response_ = {};
    response_.version(11);
    response_.result(status);
    response_.set(http::field::content_type, "application/json");
    response_.set(http::field::cache_control, "no-store");
    response_.set("X-Content-Type-Options", "nosniff");
    response_.body() = error_envelope(code);
    response_.keep_alive(false);
    response_.prepare_payload();
    subject_ = "-";
    do_write(true);
  }

  void do_write(bool unread_input) {
    stream_.expires_after(state_.options.write_timeout);
    http::async_write(
        stream_, response_,
        beast::bind_front_handler(&session::on_write, shared_from_this(), unread_input));
  }

  void on_write(bool unread_input, beast::error_code ec, std::size_t /*bytes*/) {
    log_access();
    first_request_ = false;
    if (ec) return;
    if (unread_input) return do_drain();
    if (!response_.keep_alive() || state_.stopping.load()) return do_close();
    do_wait_for_request();
  }

  void log_access() {
    if (!state_.log.enabled()) return;
    // The start line is known once the header was read whole, even when it was refused (a body
    // over the limit); not when the header itself was too large.
    const bool start_line = parser_ && !parser_->get().method_string().empty();
    format_access_line(
        log_line_,
        {.remote = remote_,
         .method = start_line ? to_std(parser_->get().method_string()) : std::string_view{},
         .target = start_line ? to_std(parser_->get().target()) : std::string_view{},
         .status = response_.result_int(),
         .duration =
             std::chrono::duration_cast<std::chrono::microseconds>(steady_clock::now() - started_),
         .subject = subject_});
    state_.log.append(log_line_);
  }

  // ---- Closing --------------------------------------------------------------------------------

  void do_close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  // After an early answer the client may still be sending the rest of its request. Closing a
  // socket with unread input makes the kernel send RST, which can destroy the answer before the
  // client reads it; so the input is read and discarded for a bounded time first.
  void do_drain() {
    do_close();
    stream_.expires_after(drain_timeout);
    do_drain_read();
  }

  void do_drain_read() {
    buffer_.consume(buffer_.size());
    stream_.async_read_some(buffer_.prepare(first_read),
                            beast::bind_front_handler(&session::on_drain_read, shared_from_this()));
  }

  void on_drain_read(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec) return;
    do_drain_read();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::empty_body> continue_;
  http::response<http::string_body> response_;
  server_state& state_;
  const net::ip::address client_;
  const std::string remote_;
  std::string subject_ = "-";
  /// The access-log line under construction; kept to reuse its allocation.
  std::string log_line_;
  steady_clock::time_point started_ = steady_clock::now();
  steady_clock::time_point request_deadline_;
  /// Waiting for the first byte of a request: shutdown may close the connection.
  bool idle_ = true;
  bool first_request_ = true;
};

std::string to_string(const tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  std::string text = address.is_v6() ? '[' + address.to_string() + ']' : address.to_string();
  return text + ':' + std::to_string(endpoint.port());
}

void start_session(tcp::socket socket, server_state& state, const tcp::endpoint& remote) {
  std::make_shared<session>(std::move(socket), state, remote)->start();
}

void stop_sessions(server_state& state) {
  std::vector<std::shared_ptr<session>> open;
  {
    const std::lock_guard lock(state.sessions_mutex);
    for (const auto& [_, weak] : state.sessions) {
      if (auto s = weak.lock()) open.push_back(std::move(s));
    }
  }
  for (const auto& s : open) s->stop();
}

}  // namespace gatehouse::server
