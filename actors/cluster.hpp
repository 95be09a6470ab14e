#pragma once

// One node of a cluster (contract §9): it listens for its peers on CAF's io middleman (with
// mutual TLS through caf::openssl when configured), keeps a connection to every other member,
// and carries requests for runs that another node owns to that node. This header does not
// include CAF.
//
// Two exchanges cross between nodes:
// - whole API requests: the owner runs them through its own router, so its answer comes back
//   unchanged (status, headers and body);
// - the engine's queries in their asynchronous form (actors/read_messages.hpp), which the
//   owner answers from its engine: how an embedder reads any run through any node
//   (actors/cluster_reader.hpp), and how a node fetches a template another node created.

#include "actors/cluster_members.hpp"
#include "actors/read_messages.hpp"
#include "persistence/domain_error.hpp"
#include "persistence/latency_histogram.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rundun::cluster {

/// An API request as it travels to the node that owns its run.
struct forwarded_request {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

/// The owner's answer, returned to the client as it is.
struct forwarded_response {
  unsigned status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

/// CAF-style inspection (see persistence/ids.hpp), so that both travel between nodes.
template <class Inspector>
auto inspect(Inspector& f, forwarded_request& x) {
  return f(x.method, x.target, x.headers, x.body);
}
template <class Inspector>
auto inspect(Inspector& f, forwarded_response& x) {
  return f(x.status, x.headers, x.body);
}

/// Mutual TLS between nodes: PEM files. The certificate must name the node's id (its CN or
/// a DNS subjectAltName): peers refuse a node whose certificate names another. rundund
/// checks that at start (app/flags.cpp); an embedder should too.
struct tls_files {
  std::string certificate, key, ca;
};

struct options {
  std::string node_id;
  std::vector<member> members; ///< this node included
  std::optional<tls_files> tls;
  /// Heartbeats between nodes, and the silence after which a peer counts as gone: a cut
  /// link is noticed in about `peer_timeout`, not at TCP's pace.
  std::chrono::milliseconds heartbeat{250};
  std::chrono::milliseconds peer_timeout{1'000};
  /// One connection attempt, and the pauses between attempts (doubling up to the most).
  std::chrono::milliseconds connect_timeout{2'000};
  std::chrono::milliseconds reconnect_min{200};
  std::chrono::milliseconds reconnect_max{5'000};
  /// A forwarded request with no answer for this long fails as `node_unavailable` (the
  /// owner's own handler timeout answers long before).
  std::chrono::milliseconds request_deadline{70'000};
  std::size_t threads = 2;
};

/// Runs a forwarded request through this node's own router, and answers once. Called on
/// one of the node's actor threads: post the work elsewhere rather than block.
using request_handler =
    std::function<void(forwarded_request, std::function<void(forwarded_response)>)>;

/// Answers a query of this node's engine for another node (`answer_read` with the engine).
/// Called on one of the node's actor threads: post the work elsewhere rather than block.
using read_handler = std::function<void(read_request, std::function<void(read_answer)>)>;

/// A member as GET /v1/cluster and /metrics show it.
struct member_state {
  std::string id;
  std::string address;
  bool self = false;
  bool reachable = false;
};

/// Forwarding latency buckets, in seconds.
inline constexpr double forward_latency_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                    0.1,    0.25,  0.5,    1,     2.5,  5,     10};

/// Peers this node refused because they could not prove the member they claimed to be, by
/// reason: `rundun_cluster_refused_total{reason}`. The reasons are net::identity_refusal's
/// names, and `not_a_member` for a hello from an id the member list does not hold.
struct refusal_counters {
  static constexpr std::array<std::string_view, 6> reasons{
      "malformed_certificate", "untrusted_certificate", "wrong_node", "bad_signature", "stale",
      "not_a_member"};
  std::array<std::atomic<std::uint64_t>, reasons.size()> counts{};

  /// Counts one refusal for `reason` (one of `reasons`). Thread-safe.
  void count(std::string_view reason) {
    for (std::size_t i = 0; i < reasons.size(); ++i)
      if (reasons[i] == reason)
        counts[i].fetch_add(1, std::memory_order_relaxed);
  }
};

/// Requests and queries forwarded from this node, by outcome, and their latency.
struct forward_counters {
  std::atomic<std::uint64_t> answered{0}, unavailable{0};
  latency_histogram latency{forward_latency_bounds};
};

class node {
public:
  /// An answer from another node, or none when that node is down, unreachable or silent.
  using reply = std::function<void(std::optional<forwarded_response>)>;
  using read_reply = std::function<void(std::optional<read_answer>)>;

  /// Listens on this member's port and starts connecting to the others (in the background,
  /// with backoff, for as long as the node runs). Fails if the port cannot be bound or the
  /// TLS files cannot be used.
  static outcome<std::unique_ptr<node>> start(options opts, request_handler on_request,
                                              read_handler on_read);

  ~node();
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  /// Stops listening and connecting; requests in flight are answered as unavailable.
  void stop();

  /// Sends `req` to member `to` (not this node) and hands its answer to `done`, once, on an
  /// actor thread. Callable from any thread.
  void forward(const std::string& to, forwarded_request req, reply done);

  /// Sends a query to member `to` (not this node) and hands its answer to `done`, once, on
  /// an actor thread, or none when that node is unavailable. Callable from any thread.
  void read(const std::string& to, read_request req, read_reply done);

  const std::string& self() const;
  const std::vector<member>& members() const;
  /// Every member, and whether this node holds a live connection to it.
  std::vector<member_state> states() const;
  const forward_counters& counters() const;
  /// Peers refused for their identity.
  const refusal_counters& refusals() const;

private:
  struct impl;
  explicit node(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace rundun::cluster
