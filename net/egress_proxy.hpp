#pragma once

// The HTTP proxy that every delivery goes through when `--egress-proxy` is set: its URL, read
// once at start, and the CONNECT request that opens a tunnel through it. Pure: no socket.
// The HTTP client (http_client.cpp) connects to the proxy and runs the handshake
// (proxy_tunnel.hpp).

#include "net/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/asio/ip/address.hpp>

namespace rundun::net {

/// An HTTP proxy, as `--egress-proxy http://[user:password@]host:port` names it. Made once by
/// the engine (or rundund's flags) and shared, read-only, by every endpoint's client.
struct egress_proxy {
  /// Lowercased; an IPv6 literal without its brackets. A name is resolved like a webhook
  /// host, but not checked by the destination guard: the proxy is the operator's choice.
  std::string host;
  std::uint16_t port = 0;
  /// `Basic <base64(user:password)>` for `Proxy-Authorization`, or empty without
  /// credentials. A secret: never logged, never in an error or a metric.
  std::string authorization;

  /// `http://host:port`: the proxy as logs and errors may show it, without its credentials.
  std::string redacted() const;
};

/// Parses `http://[user:password@]host:port` (a trailing `/` is allowed). The user name and
/// password are percent-decoded. Errors are `errc::proxy_*`; their messages complete a
/// sentence that starts with the flag's name (`--egress-proxy must …`) and never quote the
/// URL, which may hold a password.
result<egress_proxy> parse_egress_proxy(std::string_view text);

/// The CONNECT request for a tunnel to `address`:`port` (an IPv6 address in brackets), with
/// `Proxy-Authorization` when the proxy has credentials: every byte the client writes to the
/// proxy before the tunnel is open.
std::string connect_request(const egress_proxy& proxy, const boost::asio::ip::address& address,
                            std::uint16_t port);

} // namespace rundun::net
