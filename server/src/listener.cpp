// The acceptor side of the HTTP transport: binds, accepts within the connection caps, handles the
// signals and the periodic flushes, and runs the I/O threads. Asio only; sessions speak Beast.
#include <gatehouse/server/listener.hpp>

#include "server_state.hpp"
#include "session.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/system/result.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <exception>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace gatehouse::server {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using boost::system::error_code;

/// Accepts connections and owns the server's control: signals and the periodic flush. All its
/// handlers run on one strand.
class listener {
 public:
  listener(net::io_context& ioc, server_state& state, server_hooks& hooks)
      : ioc_(ioc),
        state_(state),
        control_(net::make_strand(ioc)),
        acceptor_(control_),
        accept_retry_(control_),
        signals_(control_, SIGINT, SIGTERM, SIGHUP),
        flush_timer_(control_),
        log_timer_(control_),
        hooks_(hooks) {}

  /// Binds and listens; the local endpoint, or why not.
  boost::system::result<tcp::endpoint> listen(const std::string& address, std::uint16_t port) {
    error_code ec;
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

  /// The host's upkeep and the refused-connection counts: periodically, and once at the end.
  void flush() {
    if (hooks_.periodic) hooks_.periodic();
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
      error_code ignored;
      signals_.cancel(ignored);
      flush_timer_.cancel();
      log_timer_.cancel();
      accept_retry_.cancel();
    });
  }

 private:
  /// Pause after a failed accept (out of file descriptors, say) before accepting again.
  static constexpr std::chrono::milliseconds accept_retry_delay{100};

  // ---- Accepting ----------------------------------------------------------------------------

  void do_accept() {
    acceptor_.async_accept(net::make_strand(ioc_), std::bind_front(&listener::on_accept, this));
  }

  void on_accept(error_code ec, tcp::socket socket) {
    if (state_.stopping.load() || !acceptor_.is_open()) return;
    if (ec) {
      log_event("accept failed: " + ec.message());
      accept_retry_.expires_after(accept_retry_delay);
      accept_retry_.async_wait([this](error_code wait_ec) {
        if (!wait_ec && !state_.stopping.load()) do_accept();
      });
      return;
    }
    admit(std::move(socket));
    do_accept();
  }

  /// Starts a session for `socket`, or closes it when a connection cap is reached. Only this
  /// strand adds connections, so neither count can pass its cap between check and increment;
  /// sessions ending concurrently only lower them.
  void admit(tcp::socket socket) {
    error_code endpoint_ec;
    const auto remote = socket.remote_endpoint(endpoint_ec);
    error_code ignored;
    if (state_.connections.load() >= state_.options.max_connections) {
      state_.refused.fetch_add(1);
      socket.close(ignored);
    } else if (endpoint_ec) {
      // Reset by the client before the accept completed: nobody to answer, and no address to
      // count the connection under.
      socket.close(ignored);
    } else if (!state_.clients.try_acquire(remote.address())) {
      state_.refused_per_client.fetch_add(1);
      socket.close(ignored);
    } else {
      state_.connections.fetch_add(1);
      start_session(std::move(socket), state_, remote);
    }
  }

  // ---- Signals ------------------------------------------------------------------------------

  void do_wait_signal() { signals_.async_wait(std::bind_front(&listener::on_signal, this)); }

  void on_signal(error_code ec, int signal) {
    if (ec) return;
    if (signal == SIGHUP) {
      const auto outcome =
          hooks_.reload ? hooks_.reload() : reload_outcome{false, "no reload configured"};
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
    error_code ignored;
    acceptor_.close(ignored);
    accept_retry_.cancel();
    stop_sessions(state_);
    // Every session may already have ended, in which case none will report it.
    if (state_.connections.load() == 0) drained();
  }

  // ---- Periodic flushes ---------------------------------------------------------------------

  void do_wait_flush() {
    flush_timer_.expires_after(state_.options.periodic_interval);
    flush_timer_.async_wait([this](error_code ec) {
      if (ec) return;
      flush();
      do_wait_flush();
    });
  }

  void do_wait_log_flush() {
    log_timer_.expires_after(access_log::flush_interval);
    log_timer_.async_wait([this](error_code ec) {
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
  server_hooks& hooks_;
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

/// Runs the I/O loop on `threads` threads, the calling one among them, until it has no work left.
void run_io_threads(net::io_context& ioc, unsigned threads) {
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (unsigned i = 1; i < threads; ++i) pool.emplace_back([&ioc] { run_io(ioc); });
  run_io(ioc);
  for (auto& t : pool) t.join();
}

}  // namespace

int run_server(http_service& service, metrics& service_metrics, const serve_options& options,
               server_hooks hooks) {
  // A client that disconnects, or a log reader that goes away, must not kill the process.
  std::signal(SIGPIPE, SIG_IGN);

  server_state state(service, service_metrics, options);
  std::optional<net::ssl::context> tls;
  if (!options.tls_cert_file.empty() || !options.tls_key_file.empty()) {
    tls.emplace(net::ssl::context::tls_server);
    tls->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                     net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                     net::ssl::context::no_tlsv1_1 | net::ssl::context::single_dh_use);
    boost::system::error_code ec;
    if (tls->use_certificate_chain_file(options.tls_cert_file, ec)) {
      std::cerr << "gatehouse serve: cannot use --tls-cert " << options.tls_cert_file << ": "
                << ec.message() << '\n';
      return 2;
    }
    if (tls->use_private_key_file(options.tls_key_file, net::ssl::context::pem, ec)) {
      // The key file's contents are never repeated, only its name.
      std::cerr << "gatehouse serve: cannot use --tls-key " << options.tls_key_file << ": "
                << ec.message() << '\n';
      return 2;
    }
    state.tls = &*tls;
  }
  const unsigned threads = std::max(1U, options.threads);
  net::io_context ioc(static_cast<int>(threads));
  listener server(ioc, state, hooks);
  state.on_drained = [&server] { server.drained(); };

  const auto endpoint = server.listen(options.address, options.port);
  if (!endpoint) {
    std::cerr << "gatehouse serve: cannot listen on " << options.address << ':' << options.port
              << ": " << endpoint.error().message() << '\n';
    return 2;
  }
  server.start();
  if (hooks.ready) hooks.ready(to_string(*endpoint));

  run_io_threads(ioc, threads);
  state.io_stopped.store(true);

  server.flush();
  state.log.flush();
  log_event(state.forced.load() ? "stopped without waiting for open connections" : "stopped");
  return state.forced.load() ? 1 : 0;
}

}  // namespace gatehouse::server
