#pragma once

#include "actors/commit_gate.hpp"
#include "net/envelope.hpp"
#include "persistence/model.hpp"

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace rundun {

/// One event waiting for delivery to one endpoint, with what an attempt needs.
struct delivery_job {
  event_id id;
  run_id run;
  std::uint64_t seq = 0;
  event_type type = event_type::step_completed;
  time_point created_at;
  /// The event's `data` JSON, shared with its order: never copied or parsed again. Dropped
  /// once `envelope` is built from it.
  std::shared_ptr<const std::string> data;
  /// The event's envelope, built at its first attempt here; each attempt's body comes from it.
  std::shared_ptr<const net::envelope_template> envelope;
  std::string secret;
  /// Attempts made so far (the next one is `attempts + 1`).
  int attempts = 0;
  /// Failed attempts since the schedule (re)started.
  int round_failures = 0;
  /// When the next attempt is due.
  time_point due;
  /// The due time of the event's entry in the store's pending index: where the result of
  /// its next attempt finds it (`due` may be later, while a result is being stored).
  time_point stored_due;
  /// The write that makes a new event durable, while its order came before the commit: its
  /// first request waits there (actors/commit_gate.hpp). Taken by that attempt.
  std::shared_ptr<commit_gate> gate;
  /// A redelivery: its attempt does not wait for the run's first-attempt order.
  bool redelivery = false;
  /// Sent again by a recovery: its next attempt keeps its run's creation order, as a first
  /// attempt does, though it has attempts already.
  bool recovery = false;
};

/// The scheduling rules of one endpoint, without actors, sockets or clocks: which job goes
/// next, under the in-flight cap, with each run's first attempts (and a recovery's attempts)
/// strictly in creation order and one at a time. It holds a bounded window of jobs; the rest of the
/// endpoint's backlog stays in LMDB, and the owner pages it in.
///
/// Owned by one endpoint actor; not thread-safe.
class delivery_queue {
public:
  delivery_queue(std::size_t concurrency, std::size_t window);

  /// Takes a job into the window. Returns false, and keeps nothing, when the window is full
  /// or the job is already here.
  bool add(delivery_job job);

  /// True when the job is in the window (waiting or in flight).
  bool contains(const event_id& id) const { return jobs_.count(id) > 0; }
  /// Whether the job is in flight.
  bool sending(const event_id& id) const;
  /// Whether the job is held: its event is not durable yet.
  bool held(const event_id& id) const;
  /// Holds a waiting job until `release`: it keeps its place in its run's order, so later
  /// first attempts of its run wait behind it, but it is neither started nor evicted. For
  /// an event whose write has not committed (actors/commit_gate.hpp).
  void hold(const event_id& id);
  /// Adds a job held, even to a full window: it waits only for its commit.
  bool add_held(delivery_job job);
  /// The held job's event is durable: it waits like any other.
  void release(const event_id& id);
  /// Takes a waiting or held job out, as if it had never been added; a job in flight stays.
  void withdraw(const event_id& id);

  /// Moves the jobs due at `now` to the ready list and returns the ones to start, marking
  /// them in flight. Never more than the in-flight cap allows.
  std::vector<delivery_job*> take_ready(time_point now);

  /// The attempt for `id` ended. A job that is to be retried stays, due at `retry_at`;
  /// otherwise it leaves the window.
  void finish(const event_id& id, std::optional<time_point> retry_at);

  /// A job that take_ready gave out but that was not started (its last result is not
  /// stored yet): it waits again, due at `due`, with no attempt counted, and keeps its
  /// place in its run's order.
  void put_back(const event_id& id, time_point due);

  /// The job `id`, or nullptr.
  delivery_job* find(const event_id& id);

  /// Removes every job of `run` that is neither in flight nor held (after a `410 Gone`) and
  /// returns them.
  std::vector<delivery_job> remove_run(const run_id& run);

  /// Removes every job that is neither in flight nor held (its event not yet durable), nor
  /// kept by `keep`, and returns them: for an endpoint that was disabled.
  std::vector<delivery_job> remove_waiting(const std::function<bool(const delivery_job&)>& keep);

  /// Evicts the waiting job that is due latest, if it is due later than (`due`, `seq`), to
  /// make room for an earlier one. Returns the evicted id.
  std::optional<event_id> evict_later_than(time_point due, std::uint64_t seq);

  /// The earliest due time later than `now` among waiting jobs: when to look again.
  std::optional<time_point> next_due_after(time_point now) const;

  std::size_t size() const { return jobs_.size(); }
  std::size_t in_flight() const { return in_flight_; }
  std::size_t window() const { return window_; }
  bool full() const { return jobs_.size() >= window_; }

private:
  using order_key = std::tuple<std::int64_t, std::uint64_t, std::string>;
  static order_key key_of(const delivery_job& j);
  /// True when the job's next attempt keeps its run's creation order, one at a time.
  static bool in_run_order(const delivery_job& j);
  bool waits_for_first_attempt(const delivery_job& j) const;
  void release_first(const run_id& run);
  void forget(const delivery_job& j);
  /// Removes and returns the jobs that are not in flight and that `pick` chooses.
  template <class Pick>
  std::vector<delivery_job> remove_if(Pick pick);

  struct entry {
    delivery_job job;
    bool in_flight = false;
    bool held = false;
  };

  std::size_t concurrency_;
  std::size_t window_;
  std::size_t in_flight_ = 0;
  std::unordered_map<event_id, entry> jobs_;
  /// Jobs neither in flight nor held, by (due, seq): what is due next, and what to evict.
  std::set<order_key> waiting_;
  /// Per run: the jobs whose first attempt has not been made, in creation order.
  std::unordered_map<run_id, std::map<std::uint64_t, event_id>> first_order_;
  /// Runs with a first attempt in flight right now.
  std::unordered_set<run_id> first_in_flight_;

  /// The job `id` comes back from flight (finish, put_back): its entry, no longer counted in
  /// flight, or none when it was not in flight.
  std::optional<std::unordered_map<event_id, entry>::iterator> land(const event_id& id);
};

} // namespace rundun
