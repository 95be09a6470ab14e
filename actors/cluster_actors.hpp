#pragma once

// The cluster's two actors. Included by actors/cluster.cpp and the tests only.
//
// gateway: published on this node's cluster port; other nodes' peers talk to it.
//   takes  (forward_atom, forwarded_request)  -> forwarded_response (the router's answer)
//          (read_atom, read_request)          -> read_answer (the engine's answer)
//          (answer_atom, key, seq, forwarded_response or read_answer), from those callbacks;
//              `key` is a random number only this process knows, so that nobody who reaches
//              the port can inject an answer
//          (hello_atom, node id, its gateway, identity_claim)
//                                             -> (welcome_atom, identity_claim), once the
//              claim proves the node id (with TLS); the hello is passed on to this node's
//              peer for that node. A refused claim is logged, counted, and answered with an
//              error.
//
// peer: one per other member, holding that member's gateway while connected, and carrying
// this node's requests to it. Of two members, the one whose id sorts first dials (with
// backoff, for as long as it runs) and says hello with its own gateway; the other waits for
// that hello. One connection per pair: when both dialled, CAF's middleman closed one of the
// two over TLS, and the pair flapped. With TLS, the dialler counts the member connected
// only once its welcome proves that the node at the member's address is that member.
//   takes  (dial_atom)                              retry the connection (the dialling side)
//          (hello_atom, gateway)                    the member dialled us (the other side)
//          (forward_atom, seq, forwarded_request)   answered through the pending table
//          (read_atom, seq, read_request)           answered through the pending table
//          (sweep_atom)                             fail requests past their deadline
//   sends  (forward_atom, forwarded_request) and (read_atom, read_request) to the member's
//          gateway, and takes their answers only from that gateway;
//          (hello_atom, own id, own gateway, identity_claim) to it after dialling

#include "actors/cluster.hpp"
#include "net/cluster_identity.hpp"

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
using welcome_atom = caf::atom_constant<caf::atom("welcome")>;

/// What a node sends to prove it is the member it says (net/cluster_identity.hpp): its
/// certificate and its signature over a statement, with the hello's time and nonce. Empty
/// in a cluster without TLS (--cluster-insecure), where nothing is proved.
struct identity_claim {
  std::int64_t at_ms = 0;
  std::string nonce;
  std::string certificate_pem;
  std::string signature;
};

template <class Inspector>
auto inspect(Inspector& f, identity_claim& x) {
  return f(x.at_ms, x.nonce, x.certificate_pem, x.signature);
}

/// How far a hello's clock may be from the receiver's: generous for clocks that drift, short
/// enough that a recorded hello is of little use.
constexpr std::chrono::minutes hello_window{5};

/// What the cluster's actors need to prove and check who a node is: this node's id and
/// credentials (none without TLS), and where refusals are counted.
struct trust {
  std::string self_id;
  std::shared_ptr<const net::cluster_identity> identity;
  std::shared_ptr<refusal_counters> refused;

  /// A hello to `to`, proved when there are credentials.
  identity_claim hello_to(const std::string& to) const;
  /// The welcome answering `from`'s hello, proved when there are credentials.
  identity_claim welcome_to(const std::string& from, const identity_claim& hello) const;
  /// Why `from`'s hello (or, with `welcome`, a welcome from member `from` answering our
  /// `hello`) is refused, or none when it proves `from` (or when there are no credentials).
  /// A refusal is logged and counted here.
  std::optional<std::string> refuse_hello(const std::string& from,
                                          const identity_claim& claim) const;
  std::optional<std::string> refuse_welcome(const std::string& from, const identity_claim& claim,
                                            const identity_claim& hello) const;
};
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
  std::shared_ptr<const trust> trusted;
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
  /// The key of answers from this node's own callbacks (see the gateway above).
  std::uint64_t answer_key = 0;
  std::unordered_map<std::uint64_t, caf::response_promise> waiting;
  static inline const char* name = "cluster_gateway";
};

/// This node's peer actors by member id: filled before the gateway is published, read-only
/// after.
using peer_directory = std::shared_ptr<std::unordered_map<std::string, caf::actor>>;

caf::behavior gateway(caf::stateful_actor<gateway_state>* self, request_handler on_request,
                      read_handler on_read, peer_directory peers,
                      std::shared_ptr<const trust> trusted);

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
