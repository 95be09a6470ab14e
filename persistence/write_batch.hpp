#pragma once

// The typed writes of one group commit (see store::write): what a write may change, and the
// bookkeeping a successful commit hands back to the store. Included by store.hpp.

#include "persistence/delivery_log.hpp"
#include "persistence/error.hpp"
#include "persistence/idempotency_record.hpp"
#include "persistence/list_index.hpp"
#include "persistence/listing.hpp"
#include "persistence/lmdb.hpp"
#include "persistence/model.hpp"
#include "persistence/operator_notice.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace rundun::persistence {

/// What removing one ended run did (see write_batch::remove_run).
struct run_removal {
  /// The run has an event still waiting for delivery: nothing was removed.
  bool kept = false;
  bool removed = false;
  std::size_t events = 0;
  std::size_t photos = 0;
};

/// What the writes of one commit change in the store's in-memory bookkeeping, taken over
/// once the commit succeeded.
struct commit_effects {
  std::uint64_t max_seq = 0;
  /// Pending deliveries added (or, negative, removed) per endpoint key.
  std::unordered_map<std::string, std::int64_t> pending_deltas;
  /// Events that begin (true) or stop (false) waiting for their first attempt, by sequence
  /// number, with their endpoint (see first_attempts.hpp); the last change of each counts.
  struct first_attempt_change {
    std::string endpoint;
    bool waiting = false;
  };
  std::unordered_map<std::uint64_t, first_attempt_change> first_attempts;
  /// The low-water mark this commit wrote, if it wrote one.
  std::optional<std::uint64_t> mark_written;
  /// The operator notices this commit made (see store::set_notices).
  std::vector<operator_notice> notices;

  void merge(commit_effects&& other);
};

class store;

/// The typed write operations, valid inside one write transaction on the writer thread.
/// Every operation keeps the secondary indexes (tokens, run events, pending, expiries) and the
/// waits for a first attempt (first_attempts.hpp) in step with the records. Each returns a
/// non-empty error code on failure.
class write_batch {
public:
  boost::system::error_code put_template(const template_record& x);
  /// Stores a run. A new run also gets its token; an active run is kept in the expiry index.
  boost::system::error_code put_run(const run_record& x);
  /// Stores a new event and its data; its wait for its first attempt is kept in memory.
  /// `endpoint_url` is the normalised URL behind `x.endpoint` (empty when not subscribed).
  boost::system::error_code put_event(const event_record& x, std::string_view data_json,
                                      std::string_view endpoint_url);
  /// Appends an attempt's result to a pending event's delivery log, and moves its wait (for
  /// its first attempt, or in the pending index), list entries and endpoint figures with it:
  /// no read of the event, no rewrite. If the event does not wait where the caller's copy
  /// says (the copy is stale), the step is applied to the event as stored instead, as
  /// `update_event` does.
  boost::system::error_code append_delivery(const delivery_change& c);
  /// Reads an event, lets `change` edit its delivery, and appends the change to its log,
  /// with its pending-index entry moved to the new due time. An absent event is left alone.
  /// For the rarer changes (redelivery, recovery, failing unsent); attempts use
  /// `append_delivery`.
  boost::system::error_code update_event(const event_id& id,
                                         const std::function<void(event_record&)>& change);
  /// Stores a photo: its record, its original bytes and its thumbnail.
  boost::system::error_code put_photo(const photo_record& x, std::string_view bytes,
                                      std::string_view thumbnail_jpeg);
  /// Removes an ended run: its spec and state, token, events with their data and attempts,
  /// photos, and every index entry of them. A run with an event still pending delivery is
  /// kept whole (`out.kept`), to be removed once its deliveries have ended; an active or
  /// absent run is left alone.
  boost::system::error_code remove_run(const run_id& id, run_removal& out);
  /// Sends a failed event again for a recovery: makes it pending, due at `due`, with a fresh
  /// schedule (as a redelivery does), and marks it as recovering. `marked` tells whether it
  /// was still failed and so was marked.
  boost::system::error_code recover_event(const event_id& id, time_point due, bool& marked);
  /// Keeps (or, with none, ends) the recovery job of `endpoint`.
  boost::system::error_code put_recovery_job(std::string_view endpoint,
                                             const std::optional<recovery_job>& job);
  /// Disables an endpoint at `at` (contract §7) if, as this transaction has its figures, its
  /// run of failures began at least `after` before `at`, it is not disabled yet, and no
  /// recovery of it runs; moves its list entry (a disabled endpoint is listed first).
  /// `disabled` tells whether it did.
  boost::system::error_code disable_endpoint(std::string_view endpoint, time_point at,
                                             std::chrono::milliseconds after, bool& disabled);
  /// Enables a disabled endpoint again at `at`, which also ends its run of failures: its
  /// next failure starts a new one. An endpoint that is not disabled is left alone.
  boost::system::error_code enable_endpoint(std::string_view endpoint, time_point at);
  /// Marks a run's webhook as turned off (after a `410 Gone`).
  boost::system::error_code disable_webhook(const run_id& run);
  /// Stores a used `Idempotency-Key` with what it created (call it in the write that creates
  /// that), replacing an expired record of the same key.
  boost::system::error_code put_idempotency_key(const idempotency_record& r);
  /// Removes at most `limit` keys stored before `before`, oldest first, and counts them in
  /// `removed`.
  boost::system::error_code expire_idempotency_keys(time_point before, std::size_t limit,
                                                    std::size_t& removed);
  /// Moves an operator notice from `before` (as stored) to its next attempt (`after`, with its
  /// `attempts` and `due`), or with none removes it: delivered, or failed for good.
  boost::system::error_code put_notice(const operator_notice& before,
                                       const std::optional<operator_notice>& after);
  boost::system::error_code put_meta(std::string_view key, std::string_view value);

private:
  friend class store;
  /// `earlier`: what the transaction's earlier writes changed.
  write_batch(const store& s, lmdb::txn& t, list_index::figures_cache& figures,
              const commit_effects& earlier)
      : store_(s), txn_(t), figures_(figures), earlier_(earlier) {}
  /// Appends `step` to the log of the event `seq`.
  boost::system::error_code append_step(std::uint64_t seq, const delivery_step& step);
  /// Removes the log of the event `seq` (retention).
  boost::system::error_code remove_log(std::uint64_t seq);
  /// Where a delivery waits: for its first attempt, in the pending index at a due time, or
  /// nowhere (`first` false and no `due`).
  struct wait_place {
    bool first = false;
    std::optional<time_point> due;
    bool operator==(const wait_place&) const = default;
  };
  static wait_place place_of(const delivery_state& d);
  /// Ends the event's wait at `place`; false if it did not wait there.
  result<bool> leave(const event_record& e, wait_place place);
  /// Moves a pending event's wait from `before` to `after`, and its endpoint's count.
  boost::system::error_code move_wait(const event_record& e, wait_place before, wait_place after);
  /// Whether the event `seq` waits for its first attempt, as this transaction has it.
  bool waits_first(std::string_view endpoint, std::uint64_t seq) const;
  boost::system::error_code put_if_absent(MDB_dbi db, std::string_view key, std::string_view value);
  const store& store_;
  lmdb::txn& txn_;
  list_index::figures_cache& figures_;
  const commit_effects& earlier_;
  /// What this write adds to the commit's bookkeeping, taken over when it succeeds.
  commit_effects effects_;
};

} // namespace rundun::persistence
