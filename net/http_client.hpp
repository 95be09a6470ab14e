#pragma once

#include "net/egress_proxy.hpp"
#include "net/resolver.hpp"
#include "net/url.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

namespace rundun::net {

/// One POST to a webhook endpoint: what changes from one attempt to the next. The rest of the
/// request is the client's and the same on every POST to its endpoint: the request line,
/// `Host`, `content-type: application/json` and `user-agent` (net::user_agent()).
///
/// The per-request headers are named fields rather than a list of pairs: these three are
/// all a delivery sends, and the client writes them straight into the request's bytes.
struct outgoing_request {
  /// The JSON body, shared and never changed: a retry sends the same bytes again, and the
  /// client only holds a reference while the POST is in flight. Null sends an empty body.
  std::shared_ptr<const std::string> body;
  /// `webhook-id`: the event's id, the same on every attempt.
  std::string id;
  /// `webhook-timestamp`: Unix seconds when this attempt was signed.
  std::int64_t timestamp = 0;
  /// `webhook-signature`: `v1,…` over id, timestamp and body (see signature.hpp).
  std::string signature;
};

/// Why an attempt got no usable response. `proxy`: the egress proxy could not be resolved or
/// reached, refused the CONNECT, broke the protocol, or did not answer in time.
enum class failure_kind {
  none,
  timeout,
  dns,
  connect,
  tls,
  protocol,
  destination_not_allowed,
  proxy
};

/// What came of one POST: a status (and maybe a Retry-After), or a failure with a reason.
struct attempt_response {
  std::optional<int> status;
  std::optional<std::string> retry_after;
  failure_kind failure = failure_kind::none;
  /// A short reason for the events API, e.g. `timeout`, `connect: Connection refused`,
  /// `proxy: CONNECT refused with 403`.
  std::string error;
  std::chrono::milliseconds duration{0};
};

struct client_options {
  /// One attempt: connect (to the proxy and through it) + TLS + request + response.
  std::chrono::milliseconds timeout{10'000};
  /// Most idle keep-alive connections kept for reuse.
  std::size_t max_idle = 16;
  /// A kept-alive connection unused for this long is closed, as every client pool does:
  /// receivers close theirs after a while anyway, and an endpoint that went quiet should
  /// not hold sockets.
  std::chrono::milliseconds idle_timeout{30'000};
  /// TLS settings for https endpoints (see tls_context.hpp); required for them.
  std::shared_ptr<boost::asio::ssl::context> tls;
  /// Connect to loopback, private and other non-public addresses too.
  bool allow_private_destinations = false;
  /// Looks up the endpoint's host name (see resolver.hpp). An engine passes one resolver to
  /// all its endpoints, so that they share its cache; when null, the client makes its own
  /// from `dns`.
  std::shared_ptr<net::resolver> resolver;
  /// Name servers of the client's own resolver, when `resolver` is null.
  resolver_options dns;
  /// When set, every new connection goes through this HTTP proxy: a CONNECT tunnel to the
  /// endpoint's address that the destination guard checked, then TLS and requests inside it
  /// as without a proxy. Shared by the engine's clients, never changed.
  std::shared_ptr<const egress_proxy> proxy;
};

/// The connections to one endpoint: keep-alive connections are reused across attempts.
///
/// Owned by that endpoint's delivery actor (through a shared_ptr: operations in flight hold
/// it too). `post` may be called from any thread; the completion runs on an io thread and
/// must not touch actor state (the delivery actor's completion only sends itself a message).
///
/// Through an egress proxy (`client_options::proxy`), a new connection is a CONNECT tunnel to
/// the checked address; the tunnel is then the connection, kept alive and reused the same
/// way, and failures up to the open tunnel are `failure_kind::proxy`.
///
/// Each POST is one write of the request's bytes (the endpoint's constant head, the
/// request's own headers and the body), and its response is parsed by Beast into the status
/// and Retry-After only: its other headers and its body are read and dropped, within limits.
class endpoint_client : public std::enable_shared_from_this<endpoint_client> {
public:
  using completion = std::function<void(attempt_response)>;

  static std::shared_ptr<endpoint_client> make(boost::asio::io_context& io, url target,
                                               client_options opts);
  virtual ~endpoint_client() = default;

  /// Sends `req` as a POST to the endpoint's URL; `done` gets the outcome exactly once, on
  /// an io thread (on the caller's, before `post` returns, when the caller is that io thread
  /// running the client's strand).
  virtual void post(outgoing_request req, completion done) = 0;

  /// Closes the idle connections; requests in flight finish normally.
  virtual void close_idle() = 0;

  /// Connections open right now (idle and busy). Approximate when read from another thread.
  virtual std::size_t open_connections() const = 0;

  /// TLS handshakes that resumed an earlier session (for tests and metrics).
  virtual std::size_t resumed_handshakes() const = 0;
};

} // namespace rundun::net
