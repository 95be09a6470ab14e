#pragma once

// The cluster's two actors. Included by actors/cluster.cpp and the tests only.
//
// gateway: published on this node's cluster port; other nodes' peers talk to it.
//   takes  (forward_atom, forwarded_request)  -> forwarded_response (the router's answer)
//          (read_atom, read_request)          -> read_answer (the engine's answer)
//          (answer_atom, seq, forwarded_response or read_answer), from those callbacks
//          (hello_atom, node id, its gateway), passed on to this node's peer for that node
//
// peer: one per other member, holding that member's gateway while connected, and carrying
// this node's requests to it. Of two members, the one whose id sorts first dials (with
// backoff, for as long as it runs) and says hello with its own gateway; the other waits for
// that hello. One connection per pair: when both dialled, CAF's middleman closed one of the
// two over TLS, and the pair flapped.
//   takes  (dial_atom)                              retry the connection (the dialling side)
//          (hello_atom, gateway)                    the member dialled us (the other side)
//          (forward_atom, seq, forwarded_request)   answered through the pending table
//          (read_atom, seq, read_request)           answered through the pending table
//          (sweep_atom)                             fail requests past their deadline
//   sends  (forward_atom, forwarded_request) and (read_atom, read_request) to the member's
//          gateway,
//          (hello_atom, own id, own gateway) to it after dialling

#include "actors/cluster.hpp"

#include <mutex>
#include <unordered_map>
#include <variant>

#include <caf/all.hpp>
#include <caf/io/middleman_actor.hpp>

namespace rundun::cluster {

using forward_atom = caf::atom_constant<caf::atom("forward")>;
using read_atom = caf::atom_constant<caf::atom("read")>;
using answer_atom = caf::atom_constant<caf::atom("answer")>;
using dial_atom = caf::atom_constant<caf::atom("dial")>;
using sweep_atom = caf::atom_constant<caf::atom("sweep")>;
using hello_atom = caf::atom_constant<caf::atom("hello")>;

/// The callers waiting for another node's answer, by sequence number. Shared by the node
/// (which adds them, on any thread) and its peers (which complete them): each is completed
/// exactly once, with the answer or with none.
class pending_table {
public:
  explicit pending_table(forward_counters& counters) : counters_(counters) {}

  std::uint64_t add(node::reply done);
  std::uint64_t add(node::read_reply done);
  /// Completes `seq` with its answer; an answer of the other kind counts as none.
  void complete(std::uint64_t seq, forwarded_response answer);
  void complete(std::uint64_t seq, read_answer answer);
  /// Completes `seq` with none: its node is unavailable.
  void fail(std::uint64_t seq);
  /// Completes everything still waiting with none (the node is stopping).
  void fail_all();

private:
  struct waiting {
    std::variant<node::reply, node::read_reply> done;
    std::chrono::steady_clock::time_point since;
  };
  std::uint64_t insert(waiting w);
  std::optional<waiting> take(std::uint64_t seq);
  /// Counts one outcome and its latency.
  void count(const waiting& w, bool answered);
  /// Hands `answer` to the caller waiting for one of its kind; any other caller gets none.
  template <class Answer>
  void answer(waiting& w, Answer a);
  /// Hands none to the caller, whichever kind it waits for.
  void fail(waiting& w);
  std::mutex mtx_;
  std::uint64_t next_ = 0;
  std::unordered_map<std::uint64_t, waiting> waiting_;
  forward_counters& counters_;
};

/// How a peer reaches its member: the middleman (plain or TLS) to dial through, and timing.
struct peer_settings {
  member to;
  std::string self_id;
  /// This node's gateway, announced to the member after dialling it.
  caf::actor own_gateway;
  /// Whether this side dials (its id sorts before the member's).
  bool dials = false;
  caf::io::middleman_actor dialer;
  std::chrono::milliseconds connect_timeout, reconnect_min, reconnect_max, request_deadline;
  std::shared_ptr<pending_table> pending;
  /// Read by node::states() from any thread.
  std::shared_ptr<std::atomic<bool>> reachable;
};

struct gateway_state {
  gateway_state() = default; // see peer_state
  std::uint64_t next = 0;
  std::unordered_map<std::uint64_t, caf::response_promise> waiting;
  static inline const char* name = "cluster_gateway";
};

/// This node's peer actors by member id: filled before the gateway is published, read-only
/// after.
using peer_directory = std::shared_ptr<std::unordered_map<std::string, caf::actor>>;

caf::behavior gateway(caf::stateful_actor<gateway_state>* self, request_handler on_request,
                      read_handler on_read, peer_directory peers);

struct peer_state {
  // Not an aggregate: CAF 0.17 constructs a state from the actor's pointer when it can, and
  // C++20 would let that pointer initialise `remote`, the actor itself.
  peer_state() = default;

  caf::actor remote; ///< the member's gateway, while connected
  std::chrono::milliseconds backoff{0};
  bool failing = false; ///< the last attempt failed (logged once per outage)
  std::unordered_map<std::uint64_t, std::chrono::steady_clock::time_point> in_flight;
  static inline const char* name = "cluster_peer";
};

caf::behavior peer(caf::stateful_actor<peer_state>* self, peer_settings settings);

} // namespace rundun::cluster
