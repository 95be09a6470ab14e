#pragma once

// The steps of the endpoint actor that its files share, internal to rundun_engine and never
// installed (cmake/install.cmake lists the public headers). Every function here runs on the
// endpoint actor's own thread, with `self` that actor, and touches only its state:
//   actors/endpoint_actor.cpp     the behaviour: setup, failure, message dispatch, idling
//   actors/endpoint_paging.cpp    the window: paging from the store, the timer, the pump
//   actors/endpoint_attempts.cpp  attempts: sending, judging, storing their outcomes

#include "actors/endpoint_actor.hpp"
#include "actors/messages.hpp"
#include "persistence/store.hpp"
#include "persistence/write_batch.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>

namespace rundun::endpoint_steps {

using self_ptr = caf::stateful_actor<endpoint_actor_state>*;

/// How often a window that cannot take the whole on-disk backlog looks at the disk again.
inline constexpr std::chrono::seconds refill_interval{1};
/// The first and the longest wait before an attempt's result, whose write failed, is
/// written again.
inline constexpr std::chrono::milliseconds min_rewrite_backoff{100};
inline constexpr std::chrono::milliseconds max_rewrite_backoff{5'000};

// -- paging (endpoint_paging.cpp) -------------------------------------------------

/// Asks for a page-in of the on-disk backlog, if there is one: at once with room in the
/// window, else periodically. At most one of each kind is on its way.
void schedule_refill(self_ptr self);

/// Starts an attempt for every job that is due (unless its last result is still being
/// stored), re-arms the retry timer and asks for a refill. While draining, it starts nothing
/// and answers the drain waiters once nothing is in flight.
void pump(self_ptr self, const engine_context& ctx);

/// Loads one pending event from the store into a job, with its run's secret (cached in
/// `secrets` for one page); nullopt if it is no longer pending or its run has no webhook.
std::optional<delivery_job> load_job(const engine_context& ctx, const persistence::pending_entry& p,
                                     std::unordered_map<std::string, std::string>& secrets);

/// True while the store still has the event waiting for delivery; false also when the store
/// cannot be read.
bool still_pending(const engine_context& ctx, const event_id& id);

/// True when the run's webhook is off (a 410): known here, or read from the store, and then
/// remembered here until the idle sweep.
bool run_disabled(self_ptr self, const engine_context& ctx, const run_id& run);

/// The refill message: pages up to a window of pending deliveries in from the store, fails
/// those of disabled runs, then pumps. A store that cannot be read is tried again later.
void refill(self_ptr self, const engine_context& ctx, bool periodic);

// -- attempts (endpoint_attempts.cpp) ----------------------------------------------

/// Sends the change of `id` that `settling` holds to the store; `stored_atom` comes back.
void write_change(self_ptr self, const engine_context& ctx, const event_id& id);

/// Queues a write of an event's delivery state; it is durable when `stored_atom` comes back.
/// An attempt's outcome (`retry_until_stored`) is written again until it is stored.
void store_change(self_ptr self, const engine_context& ctx, const event_id& id,
                  std::function<boost::system::error_code(persistence::write_batch&)> write,
                  bool retry_until_stored = true);

/// Queues a change that reads the event in the store and edits it (the rarer changes).
void record(self_ptr self, const engine_context& ctx, const event_id& id,
            std::function<void(event_record&)> change, bool retry_until_stored = true);

/// Fails an event, unsent, with `reason` as its `delivery.error`: counts it and stores it.
void fail_unsent(self_ptr self, const engine_context& ctx, const event_id& id, std::string reason);

/// Fails an event, unsent, because its run's webhook is off (a 410).
void fail_gone(self_ptr self, const engine_context& ctx, const event_id& id);

// -- disabling (endpoint_disabling.cpp) ----------------------------------------------

/// Reads whether the endpoint is disabled from the store: at start, at a wake, and after
/// each page-in's read (so a page that holds events a recovery sent again is never failed
/// as disabled: the recovery enabled the endpoint in an earlier commit).
void read_disabled(self_ptr self, const engine_context& ctx);

/// After a failed attempt: disables the endpoint once its run of failures (the store's
/// `failing_since`) has lasted `endpoint_disable_after`.
void disable_if_failing_too_long(self_ptr self, const engine_context& ctx);

/// Fails, unsent, every job of the window that is neither in flight nor held, when the
/// endpoint is disabled; true when it is (nothing may be sent then).
bool fail_waiting_if_disabled(self_ptr self, const engine_context& ctx);

/// Fails one event unsent with `endpoint_disabled`.
void fail_disabled(self_ptr self, const engine_context& ctx, const event_id& id);

/// Writes `id`'s change, which `settling` keeps because its write failed, again after a
/// backoff that doubles up to max_rewrite_backoff (rewrite_atom). While the store cannot
/// write, the event is neither paged in from its old state on disk nor sent again, so a
/// failing disk does not turn into a storm of repeated attempts.
void rewrite_later(self_ptr self, const std::string& id, unsettled_change& u);

/// Counts `delta` attempts into (or, negative, out of) flight: the engine's figure and the
/// endpoint's, kept in step.
void count_in_flight(self_ptr self, const engine_context& ctx, std::int64_t delta);

/// Signs and posts one attempt of `job`. The io thread that ends it judges it, sends
/// `attempt_atom` and queues the result's write; `stored_atom` follows. A job whose secret
/// does not parse is failed and stored instead.
void start_attempt(self_ptr self, const engine_context& ctx, delivery_job& job);

/// The attempt message: counts and logs it, keeps its result (being stored) in `settling`,
/// moves the job on to its next due time or out of the window, turns the webhook off on a
/// 410, and pumps. A report for a job no longer in the window only counts.
void on_attempt(self_ptr self, const engine_context& ctx, attempt_report& rep);

} // namespace rundun::endpoint_steps
