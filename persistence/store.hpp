#pragma once

#include "persistence/big_endian.hpp"
#include "persistence/error.hpp"
#include "persistence/first_attempts.hpp"
#include "persistence/latency_histogram.hpp"
#include "persistence/listing.hpp"
#include "persistence/lmdb.hpp"
#include "persistence/model.hpp"
#include "persistence/write_batch.hpp"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

namespace rundun::persistence {

/// A pending delivery as the endpoint's paging scan finds it, earliest due first.
struct pending_entry {
  event_id id;
  time_point due;
  std::uint64_t seq = 0;
};

/// Counters of the group-commit writer, read by /metrics.
struct commit_stats {
  std::atomic<std::uint64_t> batches{0};
  std::atomic<std::uint64_t> writes{0};
  std::atomic<std::uint64_t> failures{0};
  std::atomic<std::uint64_t> commit_micros_total{0};
  /// Time per group commit, fsync included.
  latency_histogram commit_latency{fast_latency_bounds};
};

/// How far the move of an older store's data to the current format has got. Reported at
/// its start, about every 5 % of what it moves, and at its end, all inside `store::open`.
struct migration_progress {
  std::string_view from_format;
  std::string_view to_format;
  std::size_t runs_done = 0;
  std::size_t runs_total = 0;
  bool finished = false;
  /// What `runs_done` and `runs_total` count: `runs`, or `endpoints` for the endpoint index.
  std::string_view counted = "runs";
};
using migration_observer = std::function<void(const migration_progress&)>;

/// The LMDB store: records, indexes and a group-commit writer.
///
/// Reads run on the caller's thread in their own read transaction. Writes are queued with
/// `write()` and applied by one writer thread, which commits whatever is queued in one
/// transaction, so concurrent writers share one fsync. Each write runs in its own nested
/// transaction: a failing write is rolled back alone and the others still commit.
///
/// Its members are defined by what they do: opening (store_open.cpp), the writer
/// (store_writer.cpp), single-record reads (store_reads.cpp), index scans (store_scans.cpp),
/// lists (store_lists.cpp) and the moves of an older format (store_migrations.cpp).
class store {
public:
  /// Default map size: it only reserves address space, the file grows as needed.
  static constexpr std::size_t default_map_size = std::size_t{64} << 30;
  /// At most this many writes share one commit.
  static constexpr std::size_t max_batch = 4096;

  using write_fn = std::function<boost::system::error_code(write_batch&)>;
  /// Called on the writer thread after the commit (or its failure). Keep it short.
  using done_fn = std::function<void(boost::system::error_code)>;

  /// Opens (or creates) the store in `dir` and starts its writer thread. A store of an older
  /// format is moved over in place, in the open's transaction; `observe`, if given, hears
  /// how far that has got.
  static result<std::unique_ptr<store>> open(const std::filesystem::path& dir,
                                             std::size_t map_size = default_map_size,
                                             const migration_observer& observe = {});
  ~store();

  // -- reads (any thread) ---------------------------------------------------

  result<std::optional<template_record>> find_template(const template_id& id) const;
  result<std::optional<run_record>> find_run(const run_id& id) const;
  result<std::optional<run_id>> find_run_by_token(std::string_view token) const;
  result<std::optional<event_record>> find_event(const event_id& id) const;
  result<std::optional<std::string>> event_data(const event_id& id) const;
  /// A run's events in creation order.
  result<std::vector<event_record>> run_events(const run_id& id) const;
  /// Every active run with its expiry, earliest expiry first.
  result<std::vector<std::pair<run_id, time_point>>> active_runs() const;
  /// Up to `limit` active runs whose expiry is at or before `until`, earliest first.
  result<std::vector<std::pair<run_id, time_point>>> runs_expiring_by(time_point until,
                                                                      std::size_t limit) const;
  /// Up to `limit` ended runs whose end is at or before `until`, earliest end first.
  result<std::vector<run_id>> runs_ended_by(time_point until, std::size_t limit) const;
  /// The number of active runs (the expiry index holds each active run once): constant time.
  result<std::size_t> active_run_count() const;
  /// The earliest expiry of any active run, if there is one.
  result<std::optional<time_point>> next_expiry() const;
  /// Up to `limit` pending deliveries of one endpoint, earliest due first.
  result<std::vector<pending_entry>> pending(std::string_view endpoint, std::size_t limit) const;
  /// The endpoint keys that have at least one pending delivery.
  result<std::vector<std::string>> endpoints_with_pending() const;
  /// The number of pending deliveries per endpoint key, as of the last commit (counted at
  /// open, then kept by the writer). Endpoints with none are left out.
  std::vector<std::pair<std::string, std::uint64_t>> pending_counts() const;
  result<std::optional<std::string>> endpoint_url(std::string_view endpoint) const;
  result<bool> webhook_disabled(const run_id& run) const;
  result<std::optional<photo_record>> find_photo(const photo_id& id) const;
  /// A photo's original bytes, as uploaded.
  result<std::optional<std::string>> photo_bytes(const photo_id& id) const;
  /// A photo's record with its thumbnail JPEG.
  result<std::optional<photo_with_thumbnail>> photo_thumbnail(const photo_id& id) const;
  result<std::optional<std::string>> meta(std::string_view key) const;
  /// The record of an `Idempotency-Key` (see idempotency_record.hpp), expired or not: the
  /// caller compares its `created_at` with the time it goes by.
  result<std::optional<idempotency_record>> find_idempotency_key(std::string_view key) const;
  /// Up to `limit` operator notices still to deliver, the earliest due first
  /// (operator_notice.hpp).
  result<std::vector<operator_notice>> pending_notices(std::size_t limit) const;
  /// When the oldest stored key was stored; none when there is none.
  result<std::optional<time_point>> oldest_idempotency_key() const;

  // -- lists (contract §8; see persistence/listing.hpp), any thread ----------------

  /// A page of runs, newest first, with their state.
  result<list_page<run_record>> list_runs(const run_filter& f, const list_request& r) const;
  /// A page of events, newest first, with their delivery state.
  result<list_page<event_record>> list_events(const event_filter& f, const list_request& r) const;
  /// A page of the endpoints with events, by rank (failing first), then by URL, of rank
  /// `only` if given: each with its URL, figures, next attempt and recovery job (not its
  /// attempts in flight, which the engine knows). Read from the endpoint index
  /// (persistence/endpoint_index.hpp) in one transaction: about `r.limit` entries, whatever
  /// the number of endpoints. A position is `endpoint_position`; `r.budget` is not used.
  result<list_page<endpoint_health>> list_endpoints(std::optional<endpoint_rank> only,
                                                    const list_request& r) const;
  /// One endpoint's figures; none for an endpoint with no events.
  result<std::optional<endpoint_health>> endpoint(std::string_view key) const;
  /// An endpoint's figures alone (one read): none while it has no events.
  result<std::optional<endpoint_stats>> endpoint_figures(std::string_view key) const;
  /// Up to `limit` failed events of `endpoint` created at or after `since_ms`, oldest first,
  /// strictly past `from`: what a recovery sends.
  result<std::vector<std::pair<list_position, event_record>>>
  failed_events(std::string_view endpoint, std::int64_t since_ms,
                const std::optional<list_position>& from, std::size_t limit) const;
  result<std::optional<recovery_job>> recovery(std::string_view endpoint) const;
  /// The endpoints with a recovery in progress.
  result<std::vector<std::string>> endpoints_recovering() const;
  /// True when a recovery marked the event `seq` of `endpoint` and it waits for its attempt.
  result<bool> recovering(std::string_view endpoint, std::uint64_t seq) const;

  // -- writes ---------------------------------------------------------------

  /// Queues `work` for the next group commit; `done` gets the outcome once it is durable.
  void write(write_fn work, done_fn done);

  /// Commits what is queued and stops the writer thread. Later writes fail at once with
  /// `errc::closed`. Idempotent; the destructor calls it. The engine calls it before it
  /// destroys the actors that the `done` callbacks talk to.
  void close_writer();

  /// What the store does with the operator's notices (contract §7) that the endpoints'
  /// figures owe: with `make` unset (the default) it drops them; else it makes each one,
  /// hands it to the notice observer after its commit, and with `keep` leaves it in the
  /// `notices` table for the notifier to deliver. No notice is made about the endpoint
  /// `operator_endpoint` (the key of the operator's own URL). Set before the first write.
  struct notice_settings {
    bool make = false;
    bool keep = false;
    std::string operator_endpoint;
  };
  void set_notices(notice_settings s) { notices_ = std::move(s); }
  /// Called on the writer thread after each commit that made notices, with them. Set it
  /// before the first write.
  using notice_observer = std::function<void(std::vector<operator_notice>)>;
  void set_notice_observer(notice_observer f) { on_notices_ = std::move(f); }

  /// Called on the writer thread when a group commit (or a write in it) fails, with the
  /// reason and the writes it took down. Set it before the first write.
  using failure_observer = std::function<void(boost::system::error_code, std::size_t writes)>;
  void set_failure_observer(failure_observer f) { on_failure_ = std::move(f); }

  /// Runs `work` and waits for its commit. For start-up and tests, never for actors.
  boost::system::error_code write_sync(write_fn work);

  /// The next event sequence number. Thread-safe; survives restarts.
  std::uint64_t next_seq() const { return seq_.fetch_add(1) + 1; }

  const commit_stats& stats() const { return stats_; }

  /// False once a commit failed with errc::panic: LMDB then refuses every read and write
  /// until the process opens the store again.
  bool usable() const { return !panicked_.load(std::memory_order_relaxed); }

  /// Why the store cannot write now (a full map or disk, an I/O error, a read-only file, a
  /// panicked environment), or none: set by the last commit that failed for such a reason,
  /// and cleared by the next one whose writes were stored. Any thread.
  std::optional<boost::system::error_code> write_failure() const;

  /// The number of the last commit begun: raised just before each commit. A write's `done`
  /// callback (on the writer, right after its commit) reads its own commit's number here;
  /// a read transaction begun before reading this mark sees no commit above it. Any thread.
  std::uint64_t commit_mark() const { return commit_mark_.load(std::memory_order_acquire); }

  /// Writes queued and not yet taken by the writer. Any thread; approximate.
  std::size_t queue_depth() const { return queued_.load(std::memory_order_relaxed); }

private:
  friend class write_batch;
  struct dbs {
    MDB_dbi templates, runs, run_specs, tokens, events, event_ids, event_data, run_events, pending,
        endpoints, expiries, disabled, meta, photos, photo_bytes, photo_thumbs, ended, lists,
        deliveries, idempotency, idempotency_expiry, notices;
  };
  struct queued {
    write_fn work;
    done_fn done;
  };

  store(lmdb::env e, dbs d) : env_(std::move(e)), db_(d) {}
  /// Opens (and creates) every table of the store, in the open's transaction
  /// (store_open.cpp).
  static result<dbs> open_tables(lmdb::txn& t);

  // -- moving an older store over, in the open's transaction (store_migrations.cpp) --------

  /// Moves a format 3 store's event lists from the `run_events` index into its runs' state
  /// values (persistence/run_value.hpp), and empties the index.
  static boost::system::error_code list_events_in_runs(lmdb::txn& t, const dbs& d,
                                                       const migration_observer& observe);
  /// Builds the list indexes (persistence/list_index.hpp) of a format 4 store, in `t`.
  static boost::system::error_code index_for_lists(lmdb::txn& t, const dbs& d,
                                                   const migration_observer& observe);
  /// Builds the endpoint index (persistence/endpoint_index.hpp) of a format 5 store, in `t`,
  /// and removes the figures that retention left behind at zero.
  static boost::system::error_code index_endpoints(lmdb::txn& t, const dbs& d,
                                                   const migration_observer& observe);
  /// Starts the delivery log (persistence/delivery_log.hpp) of a format 6 store: its event
  /// records are each event's state so far, so nothing moves; the move is reported.
  static boost::system::error_code start_delivery_log(lmdb::txn& t, const dbs& d,
                                                      const migration_observer& observe);
  /// Removes a format 7 store's pending entries of events that wait for their first attempt
  /// and puts their low-water mark (persistence/first_attempts.hpp), in `t`.
  static boost::system::error_code mark_first_attempts(lmdb::txn& t, const dbs& d,
                                                       const migration_observer& observe);
  /// Puts the ended runs of a store written before the `ended` index into it, once.
  static boost::system::error_code index_ended_runs(lmdb::txn& t, const dbs& d);

  // -- reads inside a transaction, shared by reads, writes and migrations (store_reads.cpp) --

  /// Reads one run, in `t`.
  static result<std::optional<run_record>> run_at(const lmdb::txn& t, const dbs& d,
                                                  std::string_view id);
  /// Reads one event by its sequence number, in `t`: its record with its delivery log folded
  /// over it.
  static result<std::optional<event_record>> event_at(const lmdb::txn& t, const dbs& d,
                                                      std::uint64_t seq);
  /// Called with an event's key in the `events` table and its record; returns false to stop.
  using event_visitor = std::function<bool(std::string_view seq_key, event_record& event)>;
  /// Calls `visit` for each event of `run`, in creation order, inside `t`. A run that is not
  /// stored has none.
  static boost::system::error_code for_each_run_event(const lmdb::txn& t, const dbs& d,
                                                      const run_id& run,
                                                      const event_visitor& visit);
  /// Reads one record of `db` in its own read transaction.
  template <class T, class Decode>
  result<std::optional<T>> read_record(MDB_dbi db, std::string_view key, Decode decode) const;
  /// Finds an event's sequence key by its id and reads with `read(txn, key)` in one read
  /// transaction: none for an unknown id, `errc::corrupted` for an indexed one that is absent.
  template <class T, class Read>
  result<std::optional<T>> read_by_event_id(const event_id& id, Read read) const;

  // -- scans (store_scans.cpp) ------------------------------------------------------------

  /// Runs `body(txn, cursor)` over `db` in a read transaction.
  template <class T, class Body>
  result<T> scan(MDB_dbi db, Body&& body) const;
  /// Counts the pending index's entries per endpoint: once, at open.
  result<std::unordered_map<std::string, std::uint64_t>> count_pending() const;
  /// Finds the events that wait for their first attempt, reading the events from the
  /// stored low-water mark on: once, at open, before the writer starts.
  boost::system::error_code find_first_attempts();
  /// The due time of the endpoint's earliest event waiting for its first attempt, in `t`.
  result<std::optional<time_point>> first_attempt_due(const lmdb::txn& t,
                                                      std::string_view endpoint) const;

  // -- the group-commit writer (store_writer.cpp) -------------------------------------------

  struct batch_outcome;
  void run_writer();
  void commit(std::vector<queued>& batch);
  /// Runs the batch in one transaction; with `isolate_writes`, each write in a nested one.
  batch_outcome apply_batch(std::vector<queued>& batch, bool isolate_writes);
  /// Takes over a successful commit's effects (writer thread).
  void adopt(commit_effects&& effects);
  /// Puts the low-water mark of the first attempts (first_attempts.hpp) as `effects` leave
  /// it into `t`, when it changed (writer thread).
  boost::system::error_code write_mark(lmdb::txn& t, commit_effects& effects) const;
  /// A failed commit's error, made specific where the cause can be told (a full disk).
  boost::system::error_code explain(boost::system::error_code ec) const;
  /// Keeps write_failure() in step with a commit: its first failure, and how many of its
  /// writes were stored (writer thread).
  void note_write_health(boost::system::error_code first_failure, std::size_t stored);

  lmdb::env env_;
  dbs db_;
  mutable std::atomic<std::uint64_t> seq_{0};
  /// The largest sequence number stored; touched only by the writer thread.
  std::uint64_t seq_on_disk_ = 0;
  /// Pending deliveries per endpoint key: written by the writer after each commit, read by
  /// /metrics under the lock.
  mutable std::mutex counts_mtx_;
  std::unordered_map<std::string, std::uint64_t> pending_counts_;
  /// The events waiting for their first attempt: changed by the writer after each commit
  /// (read there unlocked), read by others under `counts_mtx_`.
  first_attempts first_attempts_;
  /// The mark last written (writer thread); 0 before any.
  std::uint64_t mark_on_disk_ = 0;
  commit_stats stats_;
  failure_observer on_failure_;
  /// See set_notices and set_notice_observer.
  notice_settings notices_;
  notice_observer on_notices_;
  /// Writes the notices `figures` owes, once flushed, into `t`, and adds them to `made`.
  boost::system::error_code store_notices(lmdb::txn& t, list_index::figures_cache& figures,
                                          std::vector<operator_notice>& made);

  std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<queued> queue_;
  std::atomic<std::size_t> queued_{0};
  std::atomic<std::uint64_t> commit_mark_{0};
  std::atomic<bool> panicked_{false};
  /// The errc of write_failure(), 0 for none.
  std::atomic<int> write_failure_{0};
  bool stopping_ = false;
  bool closed_ = false;
  std::thread writer_;
};

/// The pending index's key, exposed for tests.
std::string pending_key(std::string_view endpoint, time_point due, std::uint64_t seq);

} // namespace rundun::persistence
