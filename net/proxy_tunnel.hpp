#pragma once

// The CONNECT handshake with an egress proxy (see egress_proxy.hpp): the HTTP client calls
// it on a new connection to the proxy, and the connection then carries the endpoint's TLS
// and requests as if it went to the endpoint itself.

#include <functional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>

namespace rundun::net {

/// A TCP socket whose completions run on an io_context strand: the HTTP client's connections.
using strand_socket =
    boost::asio::basic_stream_socket<boost::asio::ip::tcp,
                                     boost::asio::strand<boost::asio::io_context::executor_type>>;

/// What came of a CONNECT.
struct tunnel_outcome {
  /// Empty when the tunnel is open; else why not, for the events API, always starting with
  /// `proxy: `, e.g. `proxy: CONNECT refused with 407`.
  std::string error;

  bool open() const { return error.empty(); }
};

/// Writes `request` (see connect_request()) to the proxy at the other end of `socket` and
/// reads its answer into `buffer`, which must be empty: the tunnel is open on a 2xx with
/// nothing after it. `done` gets the outcome exactly once, on the socket's strand.
///
/// Called by the HTTP client's exchange on its strand. The caller keeps `socket` and
/// `buffer` alive until `done` runs, and bounds the time: closing the socket ends the
/// handshake with an error (the caller then reports its own timeout).
void open_tunnel(strand_socket& socket, boost::beast::flat_buffer& buffer, std::string request,
                 std::function<void(tunnel_outcome)> done);

} // namespace rundun::net
