// Opening the store: the LMDB environment and its tables, the format stamp, the moves of an
// older store to the current format (store_migrations.cpp), all in one transaction; then the
// pending counts and the writer thread.

#include "persistence/store.hpp"

#include "persistence/store_format.hpp"
#include "persistence/table_keys.hpp"

#include <pthread.h>

namespace rundun::persistence {

namespace {

constexpr int max_dbs = 24;

/// What an older store lacks, which the open moves over or builds in its transaction, in
/// this order.
struct missing_parts {
  /// The runs' event lists in their state values (format 3).
  bool event_lists = false;
  /// The list indexes (format 4 and older).
  bool lists = false;
  /// The endpoint index (format 5 and older).
  bool endpoints = false;
  /// The delivery log (format 6 and older).
  bool delivery_log = false;
  /// Pending entries for first attempts instead of their low-water mark (format 7 and older).
  bool first_attempt_entries = false;
};

/// Stamps a new store, or an older one that the open moves over, with the current format, and
/// refuses one written in another. `missing` tells the caller what an older store lacks.
boost::system::error_code check_format(lmdb::txn& t, MDB_dbi meta, MDB_dbi runs,
                                       missing_parts& missing) {
  missing = {};
  auto stamp = t.get(meta, format_meta_key);
  if (!stamp)
    return stamp.error();
  if (*stamp && **stamp == format_listing_events_apart)
    missing.event_lists = true;
  if (*stamp && (missing.event_lists || **stamp == format_without_lists))
    missing.lists = true;
  if (*stamp && (missing.lists || **stamp == format_without_endpoint_index))
    missing.endpoints = true;
  if (*stamp && (missing.endpoints || **stamp == format_without_delivery_log))
    missing.delivery_log = true;
  if (*stamp && (missing.delivery_log || **stamp == format_with_first_attempt_entries)) {
    missing.first_attempt_entries = true;
    return t.put(meta, format_meta_key, format_version);
  }
  if (*stamp)
    return **stamp == format_version ? boost::system::error_code{}
                                     : make_error_code(errc::unsupported_format);
  // No stamp: a new store, or one from before the stamp existed (format 1, with data).
  auto c = lmdb::cursor::open(t, runs);
  if (!c)
    return c.error();
  if (c->first())
    return errc::unsupported_format;
  return t.put(meta, format_meta_key, format_version);
}

} // namespace

result<store::dbs> store::open_tables(lmdb::txn& t) {
  dbs d{};
  std::pair<MDB_dbi*, const char*> names[] = {{&d.templates, "templates"},
                                              {&d.runs, "runs"},
                                              {&d.run_specs, "run_specs"},
                                              {&d.tokens, "tokens"},
                                              {&d.events, "events"},
                                              {&d.event_ids, "event_ids"},
                                              {&d.event_data, "event_data"},
                                              {&d.run_events, "run_events"},
                                              {&d.pending, "pending"},
                                              {&d.endpoints, "endpoints"},
                                              {&d.expiries, "expiries"},
                                              {&d.disabled, "disabled"},
                                              {&d.meta, "meta"},
                                              {&d.photos, "photos"},
                                              {&d.photo_bytes, "photo_bytes"},
                                              {&d.photo_thumbs, "photo_thumbs"},
                                              {&d.ended, "ended"},
                                              {&d.lists, "lists"},
                                              {&d.deliveries, "deliveries"},
                                              {&d.idempotency, "idempotency"},
                                              {&d.idempotency_expiry, "idempotency_expiry"},
                                              {&d.notices, "notices"}};
  for (auto [slot, name] : names) {
    auto db = lmdb::open_db(t, name);
    if (!db)
      return db.error();
    *slot = *db;
  }
  return d;
}

result<std::unique_ptr<store>> store::open(const std::filesystem::path& dir, std::size_t map_size,
                                           const migration_observer& observe) {
  auto e = lmdb::env::open(dir, map_size, max_dbs);
  if (!e)
    return e.error();
  auto t = lmdb::txn::begin(*e, 0);
  if (!t)
    return t.error();
  auto tables = open_tables(*t);
  if (!tables)
    return tables.error();
  auto& d = *tables;
  auto seq = t->get(d.meta, seq_meta_key);
  if (!seq)
    return seq.error();
  missing_parts missing;
  RUNDUN_TRY(check_format(*t, d.meta, d.runs, missing));
  if (missing.event_lists)
    RUNDUN_TRY(list_events_in_runs(*t, d, observe));
  if (missing.lists)
    RUNDUN_TRY(index_for_lists(*t, d, observe));
  if (missing.endpoints)
    RUNDUN_TRY(index_endpoints(*t, d, observe));
  if (missing.delivery_log)
    RUNDUN_TRY(start_delivery_log(*t, d, observe));
  if (missing.first_attempt_entries)
    RUNDUN_TRY(mark_first_attempts(*t, d, observe));
  RUNDUN_TRY(index_ended_runs(*t, d));
  RUNDUN_TRY(t->commit());
  std::unique_ptr<store> s{new store(std::move(*e), d)};
  if (*seq)
    s->seq_on_disk_ = s->seq_ = read_big_endian(**seq);
  // The events waiting for their first attempt, from the stored mark on; then one pass over
  // the pending index. The writer keeps both from then on.
  RUNDUN_TRY(s->find_first_attempts());
  auto counts = s->count_pending();
  if (!counts)
    return counts.error();
  s->pending_counts_ = std::move(*counts);
  s->writer_ = std::thread{[p = s.get()] {
    // Named for top, perf and gdb; the name is at most 15 characters.
    pthread_setname_np(pthread_self(), "rundun-store");
    p->run_writer();
  }};
  return s;
}

} // namespace rundun::persistence
