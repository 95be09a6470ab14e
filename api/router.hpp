#pragma once

#include "actors/engine.hpp"
#include "api/list_cursor.hpp"
#include "api/metrics_text.hpp"
#include "net/http_server.hpp"

#include <chrono>
#include <functional>

#include <atomic>
#include <optional>
#include <string>

namespace rundun::api {

/// What the router needs besides the engine.
struct router_config {
  /// SHA-256 hex of the API key (see api_key.hpp).
  std::string api_key_hash;
  /// Base of the executor links, without a trailing slash.
  std::string public_url;
};

/// Where a run is looked for by its link token: here alone (a single node, or a token this
/// cluster node owns), or possibly on another cluster node too.
enum class token_scope { this_node, cluster };

/// The HTTP API of contract §2–§8 over an engine: routing, authentication, body parsing, and
/// the error format. It holds no state of its own beyond counters: every change goes
/// through the engine.
///
/// Called on the HTTP server's io threads; it never blocks on the engine (commands answer
/// through callbacks), only on short LMDB reads.
class router {
public:
  router(engine& e, router_config cfg);

  /// The server's request handler.
  void handle(net::http_request&& req, net::responder respond);

  /// The largest body a target accepts: photos 10 MiB, everything else 1 MiB.
  static std::uint64_t body_limit(std::string_view target);

  /// The server's screen (net::server_options::screen), for a request whose body is about to
  /// be read: the answer `handle` would give without reading it, so that the body never is.
  /// That is the 401 of `unauthorized` for /v1 without the API key, and the 404
  /// `link_not_found` for a link (/r/{token}…) that no run has, when `tokens` says that only
  /// this node could have it. None otherwise, and when the token lookup fails (the router
  /// answers then). Counted in the API's metrics under the routes `/v1/*` and `/r/{token}/*`.
  /// Called on the server's io threads; one LMDB read for a link.
  std::optional<net::http_response> screen(const net::request_header& h,
                                           token_scope tokens = token_scope::this_node);

  /// The 401 for a request without the API key (`api_key_hash` as in router_config), or
  /// none when it carries the key. Needs only the headers.
  static std::optional<net::http_response> unauthorized(const net::request_header& req,
                                                        std::string_view api_key_hash);

  /// A response with the contract's error body.
  static net::http_response error_response(unsigned status, std::string code, std::string message);

  /// The response for an engine's refusal: its status, the error body, and a Retry-After for
  /// a `503` (a full queue, or a cluster node that cannot be reached).
  static net::http_response refusal(const domain_error& e);

  /// Set once the server accepts requests; /healthz answers 503 before.
  void set_ready(bool ready) { ready_ = ready; }

  /// Returns the server's open connection count for /metrics.
  void set_connection_gauge(std::function<std::size_t()> f) { connections_ = std::move(f); }

  /// Returns the bytes of request bodies the server holds, for /metrics.
  void set_held_body_bytes_gauge(std::function<std::uint64_t()> f) {
    held_body_bytes_ = std::move(f);
  }

  /// Adds a cluster node's figures to /metrics.
  void set_cluster_figures(std::function<cluster_figures()> f) { cluster_ = std::move(f); }

private:
  struct call;
  /// The handlers of the /v1 routes (v1_routes.cpp) and of the executor's links
  /// (link_routes.cpp), one function a route; nested, so that they reach the engine.
  struct v1_routes;
  struct link_routes;
  void route(call& c);
  /// The templates, runs, events and photos of contract §2–§7 (v1_routes.cpp).
  void route_v1(call& c);
  /// The lists, endpoints and recovery of contract §8 (list_routes.cpp); false when `c` is
  /// none of them.
  bool route_lists(call& c);
  /// The executor's page and its actions, under /r/{token} (link_routes.cpp).
  void route_link(call& c);
  /// The executor's and the console's scripts and styles (page_routes.cpp).
  void route_asset(call& c);
  /// The console's page (page_routes.cpp).
  void route_console(call& c);
  std::string metrics_text();

  engine& engine_;
  router_config cfg_;
  cursor_codec cursors_;
  std::atomic<bool> ready_{false};
  std::function<std::size_t()> connections_;
  std::function<std::uint64_t()> held_body_bytes_;
  std::function<cluster_figures()> cluster_;
  api_metrics metrics_;
};

} // namespace rundun::api
