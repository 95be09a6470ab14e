#pragma once

// The delivery actor of one endpoint (one normalised webhook URL). It owns that endpoint's
// queue, its requests in flight, its keep-alive connections and its retry timers, so a slow
// or dead endpoint ties up nothing but itself.
//
// Receives:
//   (deliver_atom, delivery_order)           a new durable event for this endpoint
//   (attempt_atom, attempt_report)           an HTTP attempt ended, judged by the io thread
//                                            that ran it, which also queues its result's write
//   (tick_atom)                              its retry timer
//   (refill_atom, bool periodic)             page the on-disk backlog into the window
//   (stored_atom, event_id, bool ok)         a delivery-state change is durable
//   (rewrite_atom, std::string event_id)     write an attempt's result again: its write failed
//   (redeliver_atom, std::string event_id)   -> redeliver_reply
//   (wake_atom)                              look at the disk for pending deliveries again,
//                                            and at whether a recovery enabled it again
//   (drain_atom)                             -> bool, once nothing is in flight; starts nothing new
//   (disabled_atom)                          the store decided whether to disable it: read
//                                            the flag (endpoint_disabling.cpp)
//   (idle_atom)                              the directory's sweep: ask to leave if idle
//   (leave_atom)                             the directory's go-ahead after (idle_atom, n): quit
// Sends:
//   (idle_atom, key, uint64_t work_taken)    to the delivery directory, once it has had nothing
//                                            to do for endpoint_idle_timeout; the directory
//                                            answers leave_atom only if it has sent it no
//                                            more work than `work_taken`, so no order is lost
//   HTTP requests go to net::endpoint_client; the io thread that ends one writes its result
//   to the store; other delivery-state changes go to the store from here.
// Fails:
//   an exception in a handler answers its waiters and ends the actor with that error; the
//   directory counts it and starts the endpoint again from the store a moment later.
//
// Its code: endpoint_actor.cpp (setup, failure, message dispatch), endpoint_paging.cpp (the
// window and its page-in from the store), endpoint_attempts.cpp (sending, judging and
// storing attempts) and endpoint_disabling.cpp (an endpoint that gives up, contract §7),
// which share endpoint_actor_steps.hpp.

#include "actors/delivery_queue.hpp"
#include "actors/engine_context.hpp"
#include "net/http_client.hpp"
#include "net/url.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>

namespace rundun {

/// A delivery-state change on its way to the store.
struct unsettled_change {
  /// The write: an attempt's result appended to the event's log, or another change.
  std::function<boost::system::error_code(persistence::write_batch&)> write;
  /// An attempt's outcome: kept and written again until stored. A redelivery's change is
  /// not: its caller hears that it failed, and nothing changed.
  bool retry_until_stored = false;
  /// The wait before the next write of it, doubled after each failure.
  std::chrono::milliseconds backoff{0};
};

struct endpoint_actor_state {
  static inline const char* name = "rundun.endpoint";

  std::string key;
  net::url target;
  std::shared_ptr<net::endpoint_client> client;
  std::optional<delivery_queue> queue;
  /// Events whose latest change is not yet durable, with the change: a page-in must not load
  /// them again, and nothing is sent again for them until it is stored. An attempt's result
  /// whose write fails stays here and is written again with backoff (rewrite_atom).
  std::unordered_map<std::string, unsettled_change> settling;
  /// Runs whose webhook answered 410 Gone, with when that was learned. The store has the
  /// same flag; this copy covers the attempts in flight and the flag's write, and its stale
  /// entries go at the idle sweep, so a busy endpoint does not keep every such run.
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> disabled_runs;
  /// When this endpoint was disabled (contract §7), as the store has it: read at start, at a
  /// wake and with each page-in (a recovery enables it again); none while enabled. While it
  /// is set, nothing is sent: every waiting event, and every new one, fails unsent with
  /// `endpoint_disabled`.
  std::optional<time_point> disabled_at;
  /// A write that may disable the endpoint is on its way (disabled_atom comes back).
  bool disabling = false;
  /// The store's `failing_since` as last read after a failed attempt: until it is
  /// `endpoint_disable_after` old, the next failures need not read it again (a 2xx since
  /// only moves it later).
  std::optional<time_point> failing_since_seen;
  /// The store's commit mark when the last page-in had read its page: an order whose event
  /// was committed later cannot have been paged in, so it needs no look at the store.
  std::uint64_t paged_through_commit = 0;
  /// More pending deliveries on disk than in the window.
  bool backlog = true;
  /// A refill message is on its way: one at once (room in the window), one periodic.
  bool refill_now_pending = false;
  bool refill_later_pending = false;
  /// The last page-in took nothing: every entry it read was in the window or settling. Until
  /// a change settles (stored_atom), refills wait for the periodic one, rather than read the
  /// same page again at once (a disabled endpoint failing its backlog, or a full page of
  /// results on their way to the store, would spin).
  bool refill_stalled = false;
  std::optional<time_point> armed_for;
  bool draining = false;
  std::vector<caf::response_promise> drain_waiters;
  /// Redeliver requests waiting for their state change to be durable, by event id.
  std::unordered_map<std::string, caf::response_promise> redeliver_waiters;
  std::mt19937_64 rng{std::random_device{}()};
  /// Messages with work taken from the directory (deliver, redeliver, wake), for the idle
  /// handshake.
  std::uint64_t work_taken = 0;
  std::chrono::steady_clock::time_point last_activity = std::chrono::steady_clock::now();
  bool asked_to_leave = false;
};

/// Spawned by the delivery directory for the endpoint `key` at `url`.
caf::behavior endpoint_actor(caf::stateful_actor<endpoint_actor_state>* self,
                             std::shared_ptr<const engine_context> ctx, std::string key,
                             std::string url);

} // namespace rundun
