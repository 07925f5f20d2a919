// One connection of the HTTP transport, as the listener sees it: start one on an accepted socket,
// stop them all at shutdown. The session itself lives in session.cpp, the one translation unit
// that instantiates Beast's HTTP parser; answers are written by hand (http_head.hpp).
#pragma once

#include "server_state.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <string>

namespace gatehouse::server {

/// `HOST:PORT`, an IPv6 host in brackets.
[[nodiscard]] std::string to_string(const boost::asio::ip::tcp::endpoint& endpoint);

/// Serves `socket` until the client, a timeout or shutdown ends the connection. The caller has
/// counted it in `state.connections` and taken one of `remote`'s slots in `state.clients`; the
/// session gives both back when it ends.
void start_session(boost::asio::ip::tcp::socket socket, server_state& state,
                   const boost::asio::ip::tcp::endpoint& remote);

/// Shutdown: a connection waiting for its next request is closed now; one in the middle of a
/// request gets its answer first (with `Connection: close`).
void stop_sessions(server_state& state);

}  // namespace gatehouse::server
