#pragma once

#include "net/error.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace rundun::net {

using http_request = boost::beast::http::request<boost::beast::http::string_body>;
using http_response = boost::beast::http::response<boost::beast::http::string_body>;
/// The request line and headers of a request, without its body.
using request_header = boost::beast::http::request_header<>;

/// Sends the response to a request. Call it exactly once, from any thread.
using responder = std::function<void(http_response)>;

/// Handles one request. Runs on an io thread: it must not block, and it answers through the
/// responder, now or later.
using request_handler = std::function<void(http_request&&, responder)>;

/// The request line and headers of a request together, in bytes as they arrive, at most:
/// the server answers a larger header section `431 headers_too_large`. A cluster node holds
/// a forwarded request to the same limit (api/forwarded_request.hpp).
inline constexpr std::size_t default_max_header_bytes = 16 * 1024;

/// An answer the server gives on its own, before a handler sees the request (built by
/// `server_options::error_response`). A cluster node refuses a forwarded request with the same
/// ones (api/forwarded_request.hpp), so that a client reads the same answer either way.
struct server_refusal {
  unsigned status;
  std::string_view code;
  std::string_view message;
};

/// A request line and headers over `max_header_bytes`.
inline constexpr server_refusal headers_too_large{431, "headers_too_large",
                                                  "the request headers are too large"};
/// Bytes that are not an HTTP/1.1 request.
inline constexpr server_refusal malformed_request{400, "malformed_request",
                                                  "the request is not valid HTTP/1.1"};
/// A body over the target's limit, found while it is read (see `body_too_large_message`).
inline constexpr server_refusal body_too_large{413, "body_too_large",
                                               "the request body is too large"};
/// A body that would take the bodies held at once past `max_held_body_bytes`. Nothing was
/// read or changed; the answer carries a `Retry-After` of `held_bodies_retry_after_seconds`.
inline constexpr server_refusal bodies_overloaded{
    503, "overloaded", "the server holds too many request bodies at once; try again shortly"};
/// The Retry-After of a `bodies_overloaded`: most requests holding a body are answered
/// within a second.
inline constexpr int held_bodies_retry_after_seconds = 1;

/// The bytes of request bodies that all connections together may hold at once, by default:
/// 25 photos of the largest size (10 MiB) at once, where 4,096 connections could otherwise
/// hold 40 GiB.
inline constexpr std::uint64_t default_max_held_body_bytes = std::uint64_t{256} << 20;

/// The message of a `body_too_large` for a body whose length is known up front to be over
/// `limit`, which it names.
inline std::string body_too_large_message(std::uint64_t limit) {
  return "the request body is larger than " + std::to_string(limit) + " bytes";
}

struct server_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  std::size_t max_header_bytes = default_max_header_bytes;
  /// The largest body accepted for a request target; larger ones get a 413.
  std::function<std::uint64_t(std::string_view target)> body_limit = [](std::string_view) {
    return std::uint64_t{1} << 20;
  };
  /// The request line and headers must arrive within this time, counted from the start of
  /// the request (or from the previous response on a kept-alive connection): a client that
  /// dribbles its headers is cut off.
  std::chrono::milliseconds header_timeout{10'000};
  /// The body must arrive within this time after the headers, and a response must be taken
  /// within it.
  std::chrono::milliseconds read_timeout{30'000};
  /// After an error answered before the request's body was read (a 413), the connection is
  /// closed only once the client stops sending, or after this long, or after
  /// `linger_bytes` more bytes (read and discarded): a client that sends its whole body
  /// before it reads then gets the answer instead of a reset, as nginx's lingering close does.
  std::chrono::milliseconds linger_timeout{5'000};
  std::uint64_t linger_bytes = std::uint64_t{32} << 20;
  /// A request whose handler has not answered within this time is answered 500
  /// `handler_timeout` (a later answer is dropped): no client waits forever on a bug.
  std::chrono::milliseconds handler_timeout{60'000};
  /// Open connections at most; more are answered 503 and closed.
  std::size_t max_connections = 4096;
  /// The bytes of request bodies held at once, over all connections. Once a request's
  /// headers are in, it reserves its `Content-Length` (a chunked body reserves its target's
  /// `body_limit`, which it may grow to) until it is answered or its connection closes; a
  /// request that would pass this is answered `bodies_overloaded` before its body is read.
  /// A body larger than this on its own is never taken: keep it above the largest
  /// `body_limit`.
  std::uint64_t max_held_body_bytes = default_max_held_body_bytes;
  /// Screens a request that carries a body, once its headers are in and before a byte of the
  /// body is read (before the `body_limit` check): an answer it returns is sent as is, the
  /// body is never read (what the client still sends is dropped, as after a 413, within
  /// `linger_timeout` and `linger_bytes`) and the connection is closed. None: the request
  /// goes on as usual. The place for checks that need only the headers, such as
  /// authentication, so that a refused client never has its body held. Called on the
  /// connection's io thread: it must not block. Empty: no screening.
  std::function<std::optional<http_response>(const request_header&)> screen;
  /// Builds the error responses the server sends on its own (413, 400 for unparseable HTTP,
  /// 503 `bodies_overloaded`, to which the server adds its Retry-After).
  std::function<http_response(unsigned status, std::string code, std::string message)>
      error_response;
};

/// A Beast HTTP/1.1 server: keep-alive, one request at a time per connection.
class http_server {
public:
  /// Binds and starts accepting on `io`. Errors: the bind or listen failure.
  static result<std::unique_ptr<http_server>> start(boost::asio::io_context& io,
                                                    server_options opts, request_handler handler);
  virtual ~http_server() = default;

  /// The bound address (with the real port when 0 was asked for).
  virtual boost::asio::ip::tcp::endpoint local_endpoint() const = 0;

  /// Stops accepting new connections. Thread-safe.
  virtual void stop() = 0;

  /// Connections open right now.
  virtual std::size_t open_connections() const = 0;

  /// The bytes of request bodies held right now (see `server_options::max_held_body_bytes`).
  /// Thread-safe.
  virtual std::uint64_t held_body_bytes() const = 0;
};

} // namespace rundun::net
