// The Boost.Beast transport of gatehouse: the listener accepts and caps connections and handles
// signals; each session reads one request at a time within the serve_options limits, hands it to
// http_service and writes the answer back. The only translation unit that instantiates Beast.
#include <gatehouse/server/listener.hpp>

#include <gatehouse/iam/secrets.hpp>
#include "http_envelope.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <cassert>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <exception>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <unistd.h>

namespace gatehouse::server {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using steady_clock = std::chrono::steady_clock;

// ---- Log lines ------------------------------------------------------------------------------

/// Bytes of a request target kept in the access log; the rest is cut, so that a line stays short
/// whatever the client sends.
constexpr std::size_t logged_target_limit = 512;

std::string_view to_std(beast::string_view s) noexcept { return {s.data(), s.size()}; }

/// Appends `value` as `width` decimal digits, with leading zeros.
void append_digits(std::string& line, unsigned value, int width) {
  char digits[8];
  for (int i = width - 1; i >= 0; --i) {
    digits[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  line.append(digits, static_cast<std::size_t>(width));
}

/// Appends the current UTC time as 2024-05-01T12:00:00.123Z. Calendar arithmetic with
/// std::chrono, not gmtime_r: glibc's takes a process-wide lock that the I/O threads would contend
/// for on every request.
void append_timestamp(std::string& line) {
  using namespace std::chrono;
  const auto now = floor<milliseconds>(system_clock::now());
  const auto day = floor<days>(now);
  const year_month_day date(day);
  const hh_mm_ss time(now - day);
  append_digits(line, static_cast<unsigned>(static_cast<int>(date.year())), 4);
  line.push_back('-');
  append_digits(line, static_cast<unsigned>(date.month()), 2);
  line.push_back('-');
  append_digits(line, static_cast<unsigned>(date.day()), 2);
  line.push_back('T');
  append_digits(line, static_cast<unsigned>(time.hours().count()), 2);
  line.push_back(':');
  append_digits(line, static_cast<unsigned>(time.minutes().count()), 2);
  line.push_back(':');
  append_digits(line, static_cast<unsigned>(time.seconds().count()), 2);
  line.push_back('.');
  append_digits(line, static_cast<unsigned>(time.subseconds().count()), 3);
  line.push_back('Z');
}

/// Appends `text` with every byte outside printable ASCII (and space, `"` and `\`) written as
/// \xHH: a client must not be able to forge or split log lines.
void append_escaped(std::string& line, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte > 0x20 && byte < 0x7f && c != '"' && c != '\\') {
      line.push_back(c);
    } else {
      line += "\\x";
      line.push_back(hex[byte >> 4]);
      line.push_back(hex[byte & 0xf]);
    }
  }
}

/// Whether a path segment or query key could be a credential: an access-token secret or a JWT
/// put in the URL by mistake. It is replaced in the log; no route takes such a segment.
bool looks_like_credential(std::string_view text) noexcept {
  return text.starts_with("api-") || text.starts_with("eyJ") || iam::looks_like_token_secret(text);
}

void append_redacted(std::string& line, std::string_view part) {
  if (looks_like_credential(part)) {
    line += "[redacted]";
  } else {
    append_escaped(line, part);
  }
}

/// Appends `target` for the access log: the path, and of the query only its keys. Secrets never
/// belong in a URL, but a query value may be a name or e-mail address that need not be logged.
void append_target(std::string& line, std::string_view target) {
  if (target.size() > logged_target_limit) target = target.substr(0, logged_target_limit);
  const auto query_start = target.find('?');
  const std::string_view path = target.substr(0, query_start);
  for (std::size_t start = 0;;) {
    const auto slash = path.find('/', start);
    append_redacted(line, path.substr(start, slash - start));
    if (slash == std::string_view::npos) break;
    line.push_back('/');
    start = slash + 1;
  }
  if (query_start == std::string_view::npos) return;
  line.push_back('?');
  std::string_view query = target.substr(query_start + 1);
  for (bool first = true; !query.empty(); first = false) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (!first) line.push_back('&');
    append_redacted(line, pair.substr(0, pair.find('=')));
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
  }
}

/// Serializes writes to standard output: access-log flushes from several threads and event lines
/// never interleave, even in a pipe, where a write over PIPE_BUF bytes may be split.
std::mutex stdout_mutex;

void write_out(std::string_view text) {
  const std::lock_guard lock(stdout_mutex);
  while (!text.empty()) {
    const ssize_t n = ::write(STDOUT_FILENO, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    // A log that cannot be written (full disk, closed pipe) must not stop the service.
    if (n <= 0) return;
    text.remove_prefix(static_cast<std::size_t>(n));
  }
}

/// The access log. Lines collect in one buffer per I/O thread and go out in one write(2) when
/// the buffer fills or at the periodic flush: a write per request cost a quarter of the
/// throughput of the decision endpoint (bench/README.md, "HTTP"). Each buffer has its own mutex,
/// uncontended but for the flush, so threads never wait for each other to log.
class access_log {
 public:
  /// Bytes a thread's buffer holds before it is written out.
  static constexpr std::size_t buffer_bytes = std::size_t{16} * 1024;
  /// How long a line may wait in a buffer.
  static constexpr std::chrono::milliseconds flush_interval{200};

  void append(std::string_view line) {
    buffer& b = local_buffer();
    const std::lock_guard lock(b.mutex);
    b.lines.append(line);
    b.lines.push_back('\n');
    if (b.lines.size() >= buffer_bytes) {
      write_out(b.lines);
      b.lines.clear();
    }
  }

  /// Writes out every thread's lines; from any thread.
  void flush() {
    const std::lock_guard registry(buffers_mutex_);
    for (const auto& b : buffers_) {
      const std::lock_guard lock(b->mutex);
      write_out(b->lines);
      b->lines.clear();
    }
  }

 private:
  struct buffer {
    std::mutex mutex;
    std::string lines;
  };

  /// This thread's buffer, registered on its first line. The cache names the log by a serial
  /// number, not its address: a later server in the same process may reuse the address.
  buffer& local_buffer() {
    thread_local std::uint64_t cached_log = 0;
    thread_local buffer* cached_buffer = nullptr;
    if (cached_log != serial_) {
      const std::lock_guard registry(buffers_mutex_);
      buffers_.push_back(std::make_unique<buffer>());
      buffers_.back()->lines.reserve(buffer_bytes + logged_line_reserve);
      cached_buffer = buffers_.back().get();
      cached_log = serial_;
    }
    return *cached_buffer;
  }

  /// Room for one more line beyond the flush threshold, so that a buffer never reallocates.
  static constexpr std::size_t logged_line_reserve = 2 * logged_target_limit;

  static inline std::atomic<std::uint64_t> next_serial{1};
  const std::uint64_t serial_ = next_serial.fetch_add(1);
  std::mutex buffers_mutex_;
  std::vector<std::unique_ptr<buffer>> buffers_;
};

std::string to_string(const tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  std::string text = address.is_v6() ? '[' + address.to_string() + ']' : address.to_string();
  return text + ':' + std::to_string(endpoint.port());
}

// ---- Shared state ---------------------------------------------------------------------------

class session;

/// Open connections per client address. Slots are taken at accept, on the listener's strand, and
/// given back by sessions ending on any I/O thread; the mutex is held for one map update only.
class client_connections {
 public:
  explicit client_connections(std::size_t cap) : cap_(cap) {}

  /// Takes a slot for `address`; false when the address holds the cap already.
  bool try_acquire(const net::ip::address& address) {
    const std::lock_guard lock(mutex_);
    const auto it = open_.find(address);
    if (it == open_.end()) {
      if (cap_ == 0) return false;
      open_.emplace(address, 1);
      return true;
    }
    if (it->second >= cap_) return false;
    ++it->second;
    return true;
  }

  /// Gives back a slot that try_acquire took.
  void release(const net::ip::address& address) {
    const std::lock_guard lock(mutex_);
    const auto it = open_.find(address);
    assert(it != open_.end() && "a slot given back that was never taken");
    if (it == open_.end()) return;
    // An entry lives only while its address has a connection, so the map never holds more
    // entries than there are open connections.
    if (--it->second == 0) open_.erase(it);
  }

 private:
  const std::size_t cap_;
  std::mutex mutex_;
  std::unordered_map<net::ip::address, std::size_t> open_;
};

/// What the listener and every session share. Outlives the io_context.
struct server_state {
  server_state(http_service& s, server::metrics& m, const serve_options& o)
      : service(s), metrics(m), options(o), clients(o.max_connections_per_client) {}

  http_service& service;
  server::metrics& metrics;
  const serve_options& options;

  std::atomic<std::size_t> connections{0};
  /// Connections closed at accept because of the cap, since the last report.
  std::atomic<std::uint64_t> refused{0};
  client_connections clients;
  /// Connections closed at accept because of the per-client cap, since the last report.
  std::atomic<std::uint64_t> refused_per_client{0};
  std::atomic<bool> stopping{false};
  /// A second signal stopped the server without waiting for open connections.
  std::atomic<bool> forced{false};
  access_log log;
  /// Set once the I/O threads have returned: sessions destroyed with the io_context must not
  /// post to it any more.
  std::atomic<bool> io_stopped{false};
  /// Called (from any thread) when the last session ends during shutdown.
  std::function<void()> on_drained;

  /// Open sessions, so that shutdown can close the idle ones. Locked on connect and disconnect
  /// only, never while a request is handled.
  std::mutex sessions_mutex;
  std::unordered_map<const session*, std::weak_ptr<session>> sessions;
};

// ---- Session --------------------------------------------------------------------------------

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
    parser_->body_limit(state_.options.body_limit);
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
        .body = request.body(),
    };
    http_response answer = state_.service.handle_request(view);

    response_ = {};
    response_.version(request.version());
    response_.result(answer.status);
    response_.set(http::field::content_type, answer.content_type);
    // A response may carry a new token's secret: no cache may keep any of them.
    response_.set(http::field::cache_control, "no-store");
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

  /// One access-log line: time, remote address, method, target (path and query keys), status,
  /// duration in µs, subject. Never a header, so never a credential.
  void log_access() {
    std::string& line = log_line_;
    line.clear();
    append_timestamp(line);
    line.push_back(' ');
    line += remote_;
    line.push_back(' ');
    // The start line is known once the header was read whole, even when it was refused (a body
    // over the limit); not when the header itself was too large.
    if (parser_ && !parser_->get().method_string().empty()) {
      append_escaped(line, to_std(parser_->get().method_string()));
      line.push_back(' ');
      append_target(line, to_std(parser_->get().target()));
    } else {
      line += "- -";
    }
    line.push_back(' ');
    line += std::to_string(response_.result_int());
    line.push_back(' ');
    const auto elapsed = steady_clock::now() - started_;
    line += std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count());
    line += "us ";
    append_escaped(line, subject_);
    state_.log.append(line);
  }

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
                            beast::bind_front_handler(&session::on_drain, shared_from_this()));
  }

  void on_drain(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec) return;
    do_drain_read();
  }

  /// How long an early answer's leftover input is read and discarded at most.
  static constexpr std::chrono::seconds drain_timeout{2};

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

// ---- Listener -------------------------------------------------------------------------------

/// Accepts connections and owns the server's control: signals and the periodic flush. All its
/// handlers run on one strand.
class listener {
 public:
  listener(net::io_context& ioc, server_state& state, reload_callback reload)
      : ioc_(ioc),
        state_(state),
        control_(net::make_strand(ioc)),
        acceptor_(control_),
        accept_retry_(control_),
        signals_(control_, SIGINT, SIGTERM, SIGHUP),
        flush_timer_(control_),
        log_timer_(control_),
        reload_(std::move(reload)) {}

  /// Binds and listens; the local endpoint, or why not.
  boost::system::result<tcp::endpoint> listen(const std::string& address, std::uint16_t port) {
    beast::error_code ec;
    tcp::resolver resolver(ioc_);
    const auto found = resolver.resolve(
        address, std::to_string(port), tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec) return ec;
    if (found.empty()) return make_error_code(net::error::host_not_found);
    const tcp::endpoint endpoint = found.begin()->endpoint();
    if (acceptor_.open(endpoint.protocol(), ec)) return ec;
    // A restarted server binds again at once even while old connections are in TIME_WAIT.
    if (acceptor_.set_option(net::socket_base::reuse_address(true), ec)) return ec;
    if (acceptor_.bind(endpoint, ec)) return ec;
    if (acceptor_.listen(net::socket_base::max_listen_connections, ec)) return ec;
    auto local = acceptor_.local_endpoint(ec);
    if (ec) return ec;
    return local;
  }

  void start() {
    net::dispatch(control_, [this] {
      do_accept();
      do_wait_signal();
      do_wait_flush();
      do_wait_log_flush();
    });
  }

  /// Last-used times and the refused-connection count: periodically, and once at the end.
  void flush() {
    if (const auto ec = state_.service.iam().flush_last_used()) {
      log_event("cannot write the last-used times of access tokens: " + ec.message());
    }
    if (const auto refused = state_.refused.exchange(0); refused > 0) {
      log_event("refused " + std::to_string(refused) + " connections over the cap of " +
                std::to_string(state_.options.max_connections));
    }
    if (const auto refused = state_.refused_per_client.exchange(0); refused > 0) {
      log_event("refused " + std::to_string(refused) + " connections over the per-client cap of " +
                std::to_string(state_.options.max_connections_per_client));
    }
  }

  /// Shutdown is complete once every session has ended: the remaining work (signals, timers)
  /// is cancelled so that the I/O threads return.
  void drained() {
    net::post(control_, [this] {
      beast::error_code ignored;
      signals_.cancel(ignored);
      flush_timer_.cancel();
      log_timer_.cancel();
      accept_retry_.cancel();
    });
  }

 private:
  /// Pause after a failed accept (out of file descriptors, say) before accepting again.
  static constexpr std::chrono::milliseconds accept_retry_delay{100};

  void do_accept() {
    acceptor_.async_accept(net::make_strand(ioc_),
                           beast::bind_front_handler(&listener::on_accept, this));
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (state_.stopping.load() || !acceptor_.is_open()) return;
    if (ec) {
      log_event("accept failed: " + ec.message());
      accept_retry_.expires_after(accept_retry_delay);
      accept_retry_.async_wait([this](beast::error_code wait_ec) {
        if (!wait_ec && !state_.stopping.load()) do_accept();
      });
      return;
    }
    // Only this strand adds connections, so neither count can pass its cap between check and
    // increment; sessions ending concurrently only lower them.
    beast::error_code endpoint_ec;
    const auto remote = socket.remote_endpoint(endpoint_ec);
    if (state_.connections.load() >= state_.options.max_connections) {
      state_.refused.fetch_add(1);
      socket.close(ec);
    } else if (endpoint_ec) {
      // Reset by the client before the accept completed: nobody to answer, and no address to
      // count the connection under.
      socket.close(ec);
    } else if (!state_.clients.try_acquire(remote.address())) {
      state_.refused_per_client.fetch_add(1);
      socket.close(ec);
    } else {
      state_.connections.fetch_add(1);
      std::make_shared<session>(std::move(socket), state_, remote)->start();
    }
    do_accept();
  }

  void do_wait_signal() {
    signals_.async_wait(beast::bind_front_handler(&listener::on_signal, this));
  }

  void on_signal(beast::error_code ec, int signal) {
    if (ec) return;
    if (signal == SIGHUP) {
      const auto outcome = reload_ ? reload_() : reload_outcome{false, "no reload configured"};
      log_event("SIGHUP: " + outcome.message);
    } else if (!state_.stopping.load()) {
      begin_shutdown(signal);
    } else {
      log_event(std::string(signal == SIGINT ? "SIGINT" : "SIGTERM") +
                " again: stopping without waiting for open connections");
      state_.forced.store(true);
      ioc_.stop();
      return;
    }
    do_wait_signal();
  }

  void begin_shutdown(int signal) {
    state_.stopping.store(true);
    log_event(std::string(signal == SIGINT ? "SIGINT" : "SIGTERM") +
              ": shutting down; no new connections, " + std::to_string(state_.connections.load()) +
              " open ones close after their current request");
    beast::error_code ignored;
    acceptor_.close(ignored);
    accept_retry_.cancel();
    std::vector<std::shared_ptr<session>> open;
    {
      const std::lock_guard lock(state_.sessions_mutex);
      for (const auto& [_, weak] : state_.sessions) {
        if (auto s = weak.lock()) open.push_back(std::move(s));
      }
    }
    for (const auto& s : open) s->stop();
    // Every session may already have ended, in which case none will report it.
    if (state_.connections.load() == 0) drained();
  }

  void do_wait_flush() {
    flush_timer_.expires_after(state_.options.flush_interval);
    flush_timer_.async_wait([this](beast::error_code ec) {
      if (ec) return;
      flush();
      do_wait_flush();
    });
  }

  void do_wait_log_flush() {
    log_timer_.expires_after(access_log::flush_interval);
    log_timer_.async_wait([this](beast::error_code ec) {
      if (ec) return;
      state_.log.flush();
      do_wait_log_flush();
    });
  }

  net::io_context& ioc_;
  server_state& state_;
  net::strand<net::io_context::executor_type> control_;
  tcp::acceptor acceptor_;
  net::steady_timer accept_retry_;
  net::signal_set signals_;
  net::steady_timer flush_timer_;
  net::steady_timer log_timer_;
  reload_callback reload_;
};

/// Runs the I/O loop on the calling thread until it has no work left. An exception escaping a
/// handler (allocation failure) is logged and the loop resumes: one request must not stop the
/// server.
void run_io(net::io_context& ioc) {
  for (;;) {
    try {
      ioc.run();
      return;
    } catch (const std::exception& e) {
      log_event(std::string("unexpected error in the I/O loop: ") + e.what());
    } catch (...) {
      log_event("unexpected error in the I/O loop");
    }
  }
}

}  // namespace

int run_server(http_service& service, metrics& service_metrics, const serve_options& options,
               reload_callback reload, const ready_callback& ready) {
  // A client that disconnects, or a log reader that goes away, must not kill the process.
  std::signal(SIGPIPE, SIG_IGN);

  server_state state(service, service_metrics, options);
  const unsigned threads = std::max(1U, options.threads);
  net::io_context ioc(static_cast<int>(threads));
  listener server(ioc, state, std::move(reload));
  state.on_drained = [&server] { server.drained(); };

  const auto endpoint = server.listen(options.address, options.port);
  if (!endpoint) {
    std::cerr << "gatehouse serve: cannot listen on " << options.address << ':' << options.port
              << ": " << endpoint.error().message() << '\n';
    return 2;
  }
  server.start();
  if (ready) ready(to_string(*endpoint));

  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (unsigned i = 1; i < threads; ++i) pool.emplace_back([&ioc] { run_io(ioc); });
  run_io(ioc);
  for (auto& t : pool) t.join();
  state.io_stopped.store(true);

  server.flush();
  state.log.flush();
  log_event(state.forced.load() ? "stopped without waiting for open connections" : "stopped");
  return state.forced.load() ? 1 : 0;
}

void log_event(std::string_view message) {
  std::string line;
  line.reserve(32 + message.size());
  append_timestamp(line);
  line.push_back(' ');
  for (const char c : message) line.push_back(c == '\n' || c == '\r' ? ' ' : c);
  line.push_back('\n');
  write_out(line);
}

}  // namespace gatehouse::server
