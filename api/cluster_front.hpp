#pragma once

#include "actors/cluster.hpp"
#include "actors/cluster_reader.hpp"
#include "actors/engine.hpp"
#include "api/list_cursor.hpp"
#include "api/list_merge.hpp"
#include "api/metrics_text.hpp"
#include "api/router.hpp"
#include "net/http_server.hpp"

#include <functional>
#include <optional>
#include <string>

namespace rundun::api {

/// The API of one cluster node (contract §9) in front of its router.
///
/// A creation with an `Idempotency-Key` (contract §4) goes to the member that owns the key
/// (rendezvous hashing over the member ids), which handles it as if it came first to it:
/// it stores the key and what it creates in one commit, so that it alone decides replays,
/// reuse and keys in progress. A run made for a key so lives on the key's owner. When that
/// member is down, the creation is `503 node_unavailable` and changes nothing. A request for a run
/// that another node owns goes to that node, and its answer comes back unchanged; a request
/// whose owner is down or unreachable gets `503 node_unavailable` with a Retry-After, and
/// changes nothing. The lists ask every node and merge their pages (a node that cannot be
/// asked is named in `unavailable_nodes`), and a recovery runs on every node. A run is created on
/// the node that receives it, after fetching the template from its owner when this node has no
/// copy. Ids without an owner mark (made by a single node before it joined) are looked for here
/// first, then on every other node.
///
/// Called on the HTTP server's io threads, like the router; the owner side's
/// `handle_forwarded` is called by the cluster node.
class cluster_front {
public:
  /// Runs work on one of the API's threads (the router's home).
  using api_poster = std::function<void(std::function<void()>)>;

  cluster_front(router& r, engine& e, std::string api_key_hash, api_poster on_api);

  /// The cluster node to forward through; set once, before the server accepts requests
  /// (the node needs `handle_forwarded` before it starts).
  void attach(cluster::node& n) {
    node_ = &n;
    reads_.emplace(engine_, n);
  }

  /// The server's request handler.
  void handle(net::http_request&& req, net::responder respond);

  /// The server's screen (net::server_options::screen): the router's, which refuses a link
  /// token that no run has only where `handle` would have the router answer it alone, that
  /// is for a token this node owns or no member does. A token another node owns, or one
  /// without an owner mark, may be that node's: its request goes on to be forwarded.
  std::optional<net::http_response> screen(const net::request_header& h);

  /// Runs a request forwarded by another node through this node's router, after holding it
  /// to the HTTP server's limits (api/forwarded_request.hpp): one over them is answered as
  /// the server answers a direct client (400, 413 or 431), and never throws. Called on the
  /// API's io threads.
  void handle_forwarded(cluster::forwarded_request req,
                        std::function<void(cluster::forwarded_response)> done);

  /// A peer's answer to a forwarded request as the response for this node's client. An
  /// answer that is not valid HTTP (see `answer_problem`) is the owner failing to answer:
  /// `503 node_unavailable` naming `node`, with its Retry-After, and one warning in the log.
  /// Called on the cluster's actor threads; never throws.
  static net::http_response answer_from_peer(const std::string& node,
                                             cluster::forwarded_response&& answer);

  /// The cluster's figures for /metrics.
  cluster_figures figures() const;

private:
  void forward(const cluster::member& to, net::http_request&& req, net::responder respond);
  void ask_others(net::http_request req, net::responder respond, std::size_t next,
                  bool someone_unavailable, net::http_response local_answer);
  void create_run(net::http_request&& req, net::responder respond);
  /// The member that decides the creation's `Idempotency-Key` when it is another node (see
  /// key_owner in cluster_placement.hpp): the request goes there, and that node stores the
  /// key with what it creates. None without a valid key, or when this node decides.
  const cluster::member* key_owner_of(const net::http_request& req) const;
  void cluster_info(const net::http_request& req, net::responder respond);
  /// A list (contract §8) from every node, merged; or a recovery on every node, summed.
  void list(const std::string& which, net::http_request&& req, net::responder respond);
  void recover(net::http_request&& req, net::responder respond);
  /// Sends `req` to every member (this node through its router) and hands their answers,
  /// in member order, to `done`, on whichever thread the last one came.
  void ask_all(const net::http_request& req, std::function<void(std::vector<node_answer>)> done);
  const cluster::member* owner(std::optional<owner_mark> mark) const;
  static net::http_response unavailable(const std::string& node);

  router& router_;
  engine& engine_;
  std::string api_key_hash_;
  cursor_codec cursors_;
  api_poster on_api_;
  cluster::node* node_ = nullptr;
  /// Queries answered by their owner: how a template made elsewhere is fetched.
  std::optional<cluster::cluster_reader> reads_;
};

} // namespace rundun::api
