// What the listener and every session share: the options, the connection counts and their caps,
// the shutdown flags, the access log and the open sessions. Asio's address type, no Beast.
#pragma once

#include <gatehouse/server/listener.hpp>
#include "access_log.hpp"

#include <boost/asio/ip/address.hpp>

#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace gatehouse::server {

/// A connection, plain or over TLS, as shutdown sees it.
class session_base {
 public:
  virtual ~session_base() = default;
  /// Closes the connection if it waits for a request; else it closes after its answer.
  virtual void stop() = 0;
};

/// Open connections per client address. Slots are taken at accept, on the listener's strand, and
/// given back by sessions ending on any I/O thread; the mutex is held for one map update only.
class client_connections {
 public:
  explicit client_connections(std::size_t cap) : cap_(cap) {}

  /// Takes a slot for `address`; false when the address holds the cap already.
  bool try_acquire(const boost::asio::ip::address& address) {
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
  void release(const boost::asio::ip::address& address) {
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
  std::unordered_map<boost::asio::ip::address, std::size_t> open_;
};

/// What the listener and every session share. Outlives the io_context.
struct server_state {
  server_state(http_service& s, server::metrics& m, const serve_options& o)
      : service(s),
        metrics(m),
        options(o),
        clients(o.max_connections_per_client),
        log(o.access_log_fd) {}

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
  std::unordered_map<const session_base*, std::weak_ptr<session_base>> sessions;
  /// The TLS context of --tls-cert and --tls-key, or null for plain HTTP.
  boost::asio::ssl::context* tls = nullptr;
};

}  // namespace gatehouse::server
