// One HTTP/1.1 connection over Boost.Beast, plain or over TLS: reads a request at a time within
// the transport's limits, hands it to http_service and writes the answer back, its head written by
// http_head. The only translation unit that instantiates Beast's HTTP parser and TLS stream.
#include "session.hpp"

#include "http_envelope.hpp"
#include "http_head.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <memory_resource>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
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

/// A request's header fields and body are allocated from its session's request memory.
using request_allocator = std::pmr::polymorphic_allocator<char>;
using request_body = http::basic_string_body<char, std::char_traits<char>, request_allocator>;
using request_parser = http::request_parser<request_body, request_allocator>;

using plain_stream = beast::tcp_stream;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

}  // namespace

/// One connection over `Stream` (plain_stream or tls_stream): reads a request, answers it, and
/// repeats while the client keeps the connection alive. All its handlers run on its own strand.
template <class Stream>
class session final : public session_base, public std::enable_shared_from_this<session<Stream>> {
  static constexpr bool tls = std::is_same_v<Stream, tls_stream>;
  using std::enable_shared_from_this<session<Stream>>::shared_from_this;
  using std::enable_shared_from_this<session<Stream>>::weak_from_this;

 public:
  /// Holds one of `remote`'s slots in `state.clients`, which it gives back when it ends. `tail`
  /// is the TLS context for a tls_stream, nothing for a plain one.
  template <class... Tail>
  session(tcp::socket&& socket, server_state& state, const tcp::endpoint& remote, Tail&... tail)
      : stream_(std::move(socket), tail...),
        // The buffer holds one request's headers and at most one read beyond them; the parser
        // moves body bytes out of it as they arrive.
        buffer_(state.options.header_limit + read_chunk),
        state_(state),
        client_(remote.address()),
        remote_(to_string(remote)) {}

  ~session() override {
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
    if constexpr (tls) {
      net::dispatch(stream_.get_executor(),
                    beast::bind_front_handler(&session::do_handshake, shared_from_this()));
    } else {
      net::dispatch(stream_.get_executor(),
                    beast::bind_front_handler(&session::do_wait_for_request, shared_from_this()));
    }
  }

  /// Shutdown: a connection waiting for its next request is closed now; one in the middle of a
  /// request gets its answer first (with `Connection: close`).
  void stop() override {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      if (self->idle_) self->tcp().close();
    });
  }

 private:
  /// Bytes asked of the socket per read while waiting for a request.
  static constexpr std::size_t first_read = 4096;
  /// Bytes the buffer may hold beyond the header limit: one read of Beast's parser.
  static constexpr std::size_t read_chunk = std::size_t{64} * 1024;
  /// How long an early answer's leftover input is read and discarded at most.
  static constexpr std::chrono::seconds drain_timeout{2};

  /// The TCP stream under TLS, or the stream itself: where the timeouts and the socket are.
  beast::tcp_stream& tcp() noexcept { return beast::get_lowest_layer(stream_); }

  // ---- TLS --------------------------------------------------------------------------------------

  // The handshake counts as part of the first request: it must be done within the read timeout.
  void do_handshake() {
    tcp().expires_after(state_.options.read_timeout);
    stream_.async_handshake(net::ssl::stream_base::server,
                            beast::bind_front_handler(&session::on_handshake, shared_from_this()));
  }

  void on_handshake(beast::error_code ec) {
    // A client that speaks no TLS, or another version, or a timeout: nothing to answer.
    if (ec) return;
    do_wait_for_request();
  }

  // ---- Reading a request ----------------------------------------------------------------------

  void do_wait_for_request() {
    idle_ = true;
    // Bytes of a pipelined request are already here: no waiting.
    if (buffer_.size() > 0) return start_request();
    if (state_.stopping.load()) return do_close();
    tcp().expires_after(first_request_ ? state_.options.read_timeout : state_.options.idle_timeout);
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
    // The last request's fields and body go back at once; most requests then fit in the room
    // the session holds, so that reading one allocates nothing.
    parser_.reset();
    request_memory_.release();
    parser_.emplace(std::piecewise_construct, std::make_tuple(request_allocator(&request_memory_)),
                    std::make_tuple(request_allocator(&request_memory_)));
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
    tcp().expires_at(request_deadline_);
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
    tcp().expires_after(state_.options.write_timeout);
    net::async_write(stream_, net::buffer(continue_head.data(), continue_head.size()),
                     beast::bind_front_handler(&session::on_write_continue, shared_from_this()));
  }

  void on_write_continue(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec) return;
    do_read_body();
  }

  void do_read_body() {
    tcp().expires_at(request_deadline_);
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
    state_.service.handle_request(view, response_);
    keep_alive_ = request.keep_alive() && !state_.stopping.load();
    do_write(request.version(), false);
  }

  /// Answers a request the transport refuses itself, then closes the connection: what is left
  /// of the request cannot be skipped reliably.
  void answer_error(http::status status, std::string_view code) {
    state_.metrics.count_response(static_cast<unsigned>(status));
    response_.reset();
    response_.status = static_cast<unsigned>(status);
    response_.body = error_envelope(code);
    keep_alive_ = false;
    do_write(11, true);
  }

  /// Writes the head and body of `response_` in one write (one sendmsg with two parts).
  void do_write(unsigned version, bool unread_input) {
    if (!write_head(head_, version, response_, keep_alive_)) {
      // A header value of the service's own would split the head: a bug, never sent.
      log_event("answer to " + remote_ + " had a header with CR, LF or NUL; sent 500 instead");
      response_.reset();
      response_.status = 500;
      response_.body = error_envelope("InternalServerError");
      if (!write_head(head_, version, response_, keep_alive_)) return;
    }
    const std::array<net::const_buffer, 2> parts = {
        net::buffer(head_),
        has_body(response_.status) ? net::buffer(response_.body) : net::const_buffer{}};
    tcp().expires_after(state_.options.write_timeout);
    net::async_write(
        stream_, parts,
        beast::bind_front_handler(&session::on_write, shared_from_this(), unread_input));
  }

  void on_write(bool unread_input, beast::error_code ec, std::size_t /*bytes*/) {
    log_access();
    first_request_ = false;
    if (ec) return;
    if (unread_input) return do_drain();
    if (!keep_alive_ || state_.stopping.load()) return do_close();
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
         .status = response_.status,
         .duration =
             std::chrono::duration_cast<std::chrono::microseconds>(steady_clock::now() - started_),
         .subject = response_.subject});
    state_.log.append(log_line_);
  }

  // ---- Closing --------------------------------------------------------------------------------

  void do_close() {
    if constexpr (tls) {
      // TLS ends with close_notify, so that the client can tell the end from a cut; bounded by
      // the write timeout like any write.
      tcp().expires_after(state_.options.write_timeout);
      stream_.async_shutdown([self = shared_from_this()](beast::error_code) {
        beast::error_code ignored;
        self->tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
      });
    } else {
      beast::error_code ec;
      tcp().socket().shutdown(tcp::socket::shutdown_send, ec);
    }
  }

  // After an early answer the client may still be sending the rest of its request. Closing a
  // socket with unread input makes the kernel send RST, which can destroy the answer before the
  // client reads it; so the input is read and discarded for a bounded time first.
  // Over TLS the bytes are discarded undecrypted: they are the rest of a refused request.
  void do_drain() {
    beast::error_code ec;
    tcp().socket().shutdown(tcp::socket::shutdown_send, ec);
    tcp().expires_after(drain_timeout);
    do_drain_read();
  }

  void do_drain_read() {
    buffer_.consume(buffer_.size());
    tcp().async_read_some(buffer_.prepare(first_read),
                          beast::bind_front_handler(&session::on_drain_read, shared_from_this()));
  }

  void on_drain_read(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec) return;
    do_drain_read();
  }

  Stream stream_;
  beast::flat_buffer buffer_;
  /// Bytes of a request's fields and body kept in the session: a decision request from wrk takes
  /// about 600, one from a browser about 1,500. Larger requests go on to the heap, in chunks
  /// freed together when the next request begins.
  static constexpr std::size_t request_room = 4096;
  alignas(std::max_align_t) std::byte request_room_[request_room];
  std::pmr::monotonic_buffer_resource request_memory_{request_room_, request_room};
  std::optional<request_parser> parser_;
  /// The answer, and its head: reused from one request to the next, so that their buffers keep
  /// their room.
  http_response response_;
  std::string head_;
  bool keep_alive_ = false;
  server_state& state_;
  const net::ip::address client_;
  const std::string remote_;
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
  if (state.tls != nullptr) {
    std::make_shared<session<tls_stream>>(std::move(socket), state, remote, *state.tls)->start();
  } else {
    std::make_shared<session<plain_stream>>(std::move(socket), state, remote)->start();
  }
}

void stop_sessions(server_state& state) {
  std::vector<std::shared_ptr<session_base>> open;
  {
    const std::lock_guard lock(state.sessions_mutex);
    for (const auto& [_, weak] : state.sessions) {
      if (auto s = weak.lock()) open.push_back(std::move(s));
    }
  }
  for (const auto& s : open) s->stop();
}

}  // namespace gatehouse::server
