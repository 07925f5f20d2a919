// gatehouse-minimal-server: the baseline of the HTTP benchmark (SPEC §9): a Boost.Beast server
// shaped like gatehouse's transport (strand per connection, parser per request, keep-alive) that
// answers every request with one fixed JSON body, so the difference measures gatehouse's work.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <charconv>
#include <csignal>
#include <cstdint>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

/// The size and shape of gatehouse's answer to a single decision.
constexpr std::string_view fixed_body =
    R"({"success":true,"errors":[],"data":{"allowed":true,"decision":"allow","statements":)"
    R"([{"policyId":"00000000-0000-0000-0000-000000000000","statementId":"s1"}],)"
    R"("subject":{"kind":"service-token","id":"00000000-0000-0000-0000-000000000000"}}})";

/// The same limits as gatehouse's defaults, so that both parse alike.
constexpr std::uint32_t header_limit = 8 * 1024;
constexpr std::uint64_t body_limit = std::uint64_t{1024} * 1024;
constexpr std::chrono::seconds idle_timeout{30};

class session : public std::enable_shared_from_this<session> {
 public:
  explicit session(tcp::socket&& socket) : stream_(std::move(socket)) {}

  void start() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&session::do_read, shared_from_this()));
  }

 private:
  void do_read() {
    parser_.emplace();
    parser_->header_limit(header_limit);
    parser_->body_limit(body_limit);
    stream_.expires_after(idle_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec) return;
    const auto& request = parser_->get();
    response_ = {};
    response_.version(request.version());
    response_.result(http::status::ok);
    response_.set(http::field::content_type, "application/json");
    response_.set(http::field::cache_control, "no-store");
    response_.body() = fixed_body;
    response_.keep_alive(request.keep_alive());
    response_.prepare_payload();
    http::async_write(stream_, response_,
                      beast::bind_front_handler(&session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec) return;
    if (!response_.keep_alive()) {
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      return;
    }
    do_read();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
};

class listener {
 public:
  listener(net::io_context& ioc, const tcp::endpoint& endpoint)
      : ioc_(ioc), acceptor_(net::make_strand(ioc)) {
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(net::socket_base::max_listen_connections);
  }

  [[nodiscard]] tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

  void do_accept() {
    acceptor_.async_accept(net::make_strand(ioc_),
                           beast::bind_front_handler(&listener::on_accept, this));
  }

 private:
  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted) return;
    if (!ec) std::make_shared<session>(std::move(socket))->start();
    do_accept();
  }

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
};

constexpr std::string_view usage =
    "usage: gatehouse-minimal-server [--listen HOST:PORT] [--threads N]\n"
    "Answers every HTTP request with one fixed JSON body; prints `listening on HOST:PORT`.\n"
    "Defaults: 127.0.0.1:8081, one thread per core. SIGINT or SIGTERM stops it.\n";

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:8081";
  unsigned threads = std::max(1U, std::thread::hardware_concurrency());
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--listen" && i + 1 < argc) {
      listen = argv[++i];
    } else if (arg == "--threads" && i + 1 < argc) {
      const std::string_view n = argv[++i];
      if (std::from_chars(n.data(), n.data() + n.size(), threads).ec != std::errc{} ||
          threads == 0) {
        std::cerr << usage;
        return 2;
      }
    } else {
      std::cerr << usage;
      return 2;
    }
  }
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) {
    std::cerr << usage;
    return 2;
  }
  try {
    net::io_context ioc(static_cast<int>(threads));
    tcp::resolver resolver(ioc);
    const auto endpoint =
        resolver.resolve(listen.substr(0, colon), listen.substr(colon + 1))->endpoint();
    listener server(ioc, endpoint);
    server.do_accept();
    net::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&ioc](beast::error_code, int) { ioc.stop(); });
    std::signal(SIGPIPE, SIG_IGN);
    const auto local = server.local_endpoint();
    std::cout << "listening on " << local.address().to_string() << ':' << local.port() << std::endl;
    std::vector<std::thread> pool;
    for (unsigned i = 1; i < threads; ++i) pool.emplace_back([&ioc] { ioc.run(); });
    ioc.run();
    for (auto& t : pool) t.join();
  } catch (const std::exception& e) {
    std::cerr << "gatehouse-minimal-server: " << e.what() << '\n';
    return 2;
  }
  return 0;
}
