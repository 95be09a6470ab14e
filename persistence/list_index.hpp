#pragma once

// The indexes behind the lists of contract §8, all in one LMDB table (`lists`), and the
// per-endpoint figures and recovery jobs kept beside them. Each write here runs inside the
// write transaction of the record it indexes, so an index never disagrees with its data.
//
// Keys (times are creation times in big-endian milliseconds, ids as stored):
//   r <ms> <run id>                          -> template id          every run
//   s <status> <ms> <run id>                 -> template id          runs by status
//   e <ms> <event id>                        -> seq, type, endpoint  every event
//   f <status> <ms> <event id>               -> seq, type, endpoint  all but delivered
//   q <endpoint> / <status> <ms> <event id>  -> seq, type, endpoint  an endpoint's failed events
//   h <endpoint>                             -> endpoint_stats
//   v <endpoint> / <seq>                     -> (empty)              sent again by a recovery
//   j <endpoint>                             -> recovery_job
//   n <rank> <URL> \0 <endpoint>             -> URL                  see endpoint_index.hpp
// A status is one byte, its enum value. An endpoint has figures (and an `n` entry) while it
// has events: the removal of its last one removes them. Internal to persistence/.
//
// What an event's usual life costs is kept small: its creation appends two entries at the
// right edge of the tree (`e`, and `f` pending), and its delivery deletes the second, on a
// page that is still hot. Delivered, the common end, has no entry of its own, and only a
// failure writes into an endpoint's own part of the tree (entries grouped by endpoint
// scatter a commit's writes over one page per endpoint: a first version, with every status
// and endpoint indexed, wrote 3 KiB more per event). A list of delivered events walks `e`
// and reads each record's status: matches are dense. An endpoint's events are found by the
// endpoint's mark in the entry values.

#include "persistence/endpoint_index.hpp"
#include "persistence/error.hpp"
#include "persistence/listing.hpp"
#include "persistence/lmdb.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace rundun::persistence::list_index {

// -- keeping the indexes (inside a write transaction) -----------------------------

/// The key of an endpoint's figures (`h`).
std::string figures_key(std::string_view endpoint);

/// The endpoints' figures as one write transaction changes them: each endpoint's are read
/// once, changed in memory by every event of the transaction, and written once, with the
/// endpoint's index entry moved (endpoint_index::follow), at `flush`. A group commit of
/// hundreds of attempts to a few endpoints so writes a few figures, not one per event.
/// Used on the writer thread only; one per transaction (per nested one, when writes are
/// isolated), flushed before it commits.
class figures_cache {
public:
  /// The endpoint's figures as this transaction has them so far: none while it has no
  /// events. The pointer stays valid until `flush`.
  result<std::optional<endpoint_stats>*> at(const lmdb::txn& t, MDB_dbi lists,
                                            std::string_view endpoint);
  /// The normalised URL of `endpoint`, for its URL row if this transaction gives it its first
  /// event.
  void note_url(std::string_view endpoint, std::string_view url);
  /// Writes every changed endpoint's figures and index entry; empties the cache. The notices
  /// the changes owe are kept for `take_owed`.
  boost::system::error_code flush(lmdb::txn& t, const endpoint_index::tables& db);
  /// Keeps notices that `endpoint`'s figures owed before they were reset (its last event was
  /// removed in this transaction), for `take_owed`.
  void keep_owed(std::string_view endpoint, std::vector<owed_notice>&& owed) {
    for (auto& n : owed)
      owed_.emplace_back(std::string(endpoint), std::move(n));
  }
  /// The notices owed by the figures flushed so far, by endpoint key, in the order owed.
  std::vector<std::pair<std::string, owed_notice>> take_owed() { return std::move(owed_); }

private:
  struct entry {
    std::optional<endpoint_stats> stored;
    std::optional<endpoint_stats> now;
    std::string url;
  };
  std::unordered_map<std::string, entry> entries_;
  std::vector<std::pair<std::string, owed_notice>> owed_;
};

/// Indexes a run as `r` now stands: a new run, or one whose status changed.
boost::system::error_code put_run(lmdb::txn& t, MDB_dbi db, const run_record& r);
/// Removes a run's entries.
boost::system::error_code remove_run(lmdb::txn& t, MDB_dbi db, const run_record& r);
/// Moves an event's entries and its endpoint's figures from `before` (none: a new event) to
/// `after` (none: a removed one), and the endpoint's rows with them (endpoint_index::follow):
/// its first event writes its URL row from `endpoint_url` (the caller's, when it has it),
/// and the removal of its last one removes its figures and rows. An attempt recorded on an
/// event a recovery marked ends its mark, as does the event's leaving `pending` without
/// one, or its removal.
/// The figures change in `figures`, which the caller flushes before its commit.
boost::system::error_code change_event(lmdb::txn& t, const endpoint_index::tables& db,
                                       figures_cache& figures, const event_record* before,
                                       const event_record* after,
                                       std::string_view endpoint_url = {});
/// Marks an event as sent again by a recovery, counted in its endpoint's `recovering`.
boost::system::error_code mark_recovering(lmdb::txn& t, MDB_dbi db, figures_cache& figures,
                                          std::string_view endpoint, std::uint64_t seq);

/// Removes an endpoint's figures: for the move to the endpoint index, once.
boost::system::error_code remove_stats(lmdb::txn& t, MDB_dbi db, std::string_view endpoint);

boost::system::error_code put_job(lmdb::txn& t, MDB_dbi db, std::string_view endpoint,
                                  const recovery_job& job);
boost::system::error_code remove_job(lmdb::txn& t, MDB_dbi db, std::string_view endpoint);

// -- reading them (inside any transaction) -----------------------------------------

result<bool> is_recovering(const lmdb::txn& t, MDB_dbi db, std::string_view endpoint,
                           std::uint64_t seq);
result<std::optional<endpoint_stats>> stats(const lmdb::txn& t, MDB_dbi db,
                                            std::string_view endpoint);
result<std::optional<recovery_job>> job(const lmdb::txn& t, MDB_dbi db, std::string_view endpoint);
/// Every endpoint with figures, by key: for the move to the endpoint index, once.
result<std::vector<std::pair<std::string, endpoint_stats>>> all_stats(const lmdb::txn& t,
                                                                      MDB_dbi db);
/// Every endpoint with a recovery in progress.
result<std::vector<std::string>> endpoints_recovering(const lmdb::txn& t, MDB_dbi db);

/// The prefix a list walks: runs with or without a status.
std::string runs_prefix(std::optional<run_status> status);
/// How a list of events walks: the prefix, and what each entry must still be checked for.
struct event_walk {
  std::string prefix;
  /// The endpoint key's mark that the entry's value must carry (see `event_entry`).
  std::optional<std::string> endpoint_mark;
  /// The status that the record itself must have: one the prefix does not index.
  std::optional<delivery_status> record_status;
};
event_walk plan_event_walk(std::optional<delivery_status> status,
                           const std::optional<std::string>& endpoint);

/// An event's entry value: its sequence number (the key of its record), its type, and a
/// mark of its endpoint (the first 16 characters of the key, empty without an endpoint).
struct event_entry {
  std::uint64_t seq = 0;
  event_type type = event_type::step_completed;
  std::string_view endpoint_mark;
};
std::optional<event_entry> decode_event_entry(std::string_view value);
/// The mark of an endpoint key in entry values.
std::string_view endpoint_mark(std::string_view endpoint_key);

/// The bounds of one walk over a prefix's entries.
struct walk_bounds {
  /// Start strictly past this position (newest first: strictly older).
  std::optional<list_position> from;
  /// Only entries created strictly after / strictly before these milliseconds.
  std::optional<std::int64_t> after_ms, before_ms;
  std::size_t budget = list_scan_budget;
};

/// Where a walk stopped: the last entry it looked at, and whether the budget ran out first.
struct walk_end {
  std::optional<list_position> last_seen;
  bool budget_spent = false;
};

/// Calls `visit(position, value)` for the entries under `prefix`, newest first, within
/// `b`; `visit` returns false to stop.
using visitor = std::function<bool(const list_position&, std::string_view value)>;
walk_end walk_newest_first(lmdb::cursor& c, std::string_view prefix, const walk_bounds& b,
                           const visitor& visit);
/// The same, oldest first, from `since_ms` (inclusive) and strictly past `from`; no budget.
void walk_oldest_first(lmdb::cursor& c, std::string_view prefix, std::int64_t since_ms,
                       const std::optional<list_position>& from, const visitor& visit);

} // namespace rundun::persistence::list_index
