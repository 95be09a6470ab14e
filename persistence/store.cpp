#include "persistence/store.hpp"

#include "persistence/list_index.hpp"
#include "persistence/record_codec.hpp"
#include "persistence/run_value.hpp"

#include <algorithm>
#include <chrono>
#include <future>

#include <pthread.h>
#include <sys/statvfs.h>

namespace rundun::persistence {

namespace {

constexpr int max_dbs = 24;
constexpr std::string_view seq_meta_key = "event_seq";
/// The layout of the records on disk; a store written in another layout is refused.
constexpr std::string_view format_meta_key = "format";
constexpr std::string_view format_version = "6";
/// Format 5 had no endpoint index (persistence/endpoint_index.hpp); it is built at open.
constexpr std::string_view format_without_endpoint_index = "5";
/// Format 4 had no list indexes (persistence/list_index.hpp); they are built at open.
constexpr std::string_view format_without_lists = "4";
/// Format 3 listed a run's events in an index of their own (`run_events`); format 4 keeps
/// them in the run's state value (persistence/run_value.hpp). A format 3 store is moved over
/// once, at open.
constexpr std::string_view format_listing_events_apart = "3";

/// The key of an event's record and data, looked up through the id index. Events are keyed
/// by sequence number, not by their random id, so that new events append to the end of
/// the tree: a random key would dirty a random page of each table on every event.
result<std::optional<std::string>> event_key(const lmdb::txn& t, MDB_dbi ids, const event_id& id) {
  return t.get(ids, id.value);
}

std::string expiry_key(const run_record& r) {
  return big_endian(static_cast<std::uint64_t>(to_unix_ms(r.expires_at))) + r.id.value;
}

/// The key of an ended run in the index retention walks: by end time, oldest first.
std::string ended_key(const run_record& r) {
  auto ms = std::max<std::int64_t>(0, to_unix_ms(r.ended_at.value_or(r.created_at)));
  return big_endian(static_cast<std::uint64_t>(ms)) + r.id.value;
}

/// Marks a store whose ended runs are all in the `ended` index.
constexpr std::string_view ended_index_meta_key = "ended_index";

/// Calls `f(seq_key, event)` for each event of `run`, in creation order, inside `t`; `f`
/// returns false to stop. A run that is not stored has none.
template <class F>
boost::system::error_code for_each_run_event(const lmdb::txn& t, MDB_dbi runs, MDB_dbi events,
                                             const run_id& run, F&& f) {
  auto state = t.get(runs, run.value);
  if (!state)
    return state.error();
  if (!*state)
    return {};
  auto seqs = run_event_seqs(**state);
  std::sort(seqs.begin(), seqs.end());
  for (auto seq : seqs) {
    auto seq_key = big_endian(seq);
    auto text = t.get(events, seq_key);
    if (!text)
      return text.error();
    if (!*text)
      continue;
    auto ev = decode_event(**text);
    if (!ev)
      return errc::corrupted;
    if (!f(seq_key, *ev))
      break;
  }
  return {};
}

/// The "decoder" of values stored as plain text (ids, URLs, bytes): a copy.
std::optional<std::string> as_text(std::string_view s) {
  return std::string(s);
}

/// Moves a format 3 store's event lists from the `run_events` index (keys `<run id>/<seq>`,
/// big-endian) into its runs' state values, and empties the index.
boost::system::error_code list_events_in_runs(lmdb::txn& t, MDB_dbi runs, MDB_dbi run_events,
                                              const migration_observer& observe) {
  std::vector<std::pair<std::string, std::uint64_t>> listed;
  {
    auto c = lmdb::cursor::open(t, run_events);
    if (!c)
      return c.error();
    for (bool ok = c->first(); ok; ok = c->next()) {
      auto key = c->key();
      if (key.size() < 10 || key[key.size() - 9] != '/')
        return errc::corrupted;
      listed.emplace_back(std::string(key.substr(0, key.size() - 9)),
                          read_big_endian(key.substr(key.size() - 8)));
    }
  }
  migration_progress progress{format_listing_events_apart, format_without_lists, 0, 0};
  for (std::size_t i = 0; i < listed.size(); ++i)
    if (i == 0 || listed[i].first != listed[i - 1].first)
      ++progress.runs_total;
  auto tell = [&] {
    if (observe)
      observe(progress);
  };
  tell();
  const std::size_t step = std::max<std::size_t>(1, progress.runs_total / 20);
  // Keys sort by run, then by sequence number: one rewrite per run.
  for (std::size_t i = 0; i < listed.size();) {
    auto& run = listed[i].first;
    std::vector<std::uint64_t> seqs;
    for (; i < listed.size() && listed[i].first == run; ++i)
      seqs.push_back(listed[i].second);
    auto state = t.get(runs, run);
    if (!state)
      return state.error();
    if (*state)
      RUNDUN_TRY(t.put(runs, run, with_run_events(**state, seqs)));
    if (++progress.runs_done % step == 0 && progress.runs_done < progress.runs_total)
      tell();
  }
  RUNDUN_TRY(t.clear(run_events));
  progress.finished = true;
  tell();
  return {};
}

/// The indexes an older store lacks, which the caller builds in the open's transaction, in
/// this order.
struct missing_indexes {
  /// The list indexes (format 4 and older).
  bool lists = false;
  /// The endpoint index (format 5 and older).
  bool endpoints = false;
};

/// Stamps a new store with the current format, moves a format 3 store's event lists over,
/// and refuses one written in another. `missing` tells the caller which indexes an older
/// store lacks.
boost::system::error_code check_format(lmdb::txn& t, MDB_dbi meta, MDB_dbi runs, MDB_dbi run_events,
                                       const migration_observer& observe,
                                       missing_indexes& missing) {
  missing = {};
  auto stamp = t.get(meta, format_meta_key);
  if (!stamp)
    return stamp.error();
  if (*stamp && **stamp == format_listing_events_apart)
    RUNDUN_TRY(list_events_in_runs(t, runs, run_events, observe));
  if (*stamp && (**stamp == format_listing_events_apart || **stamp == format_without_lists))
    missing.lists = true;
  if (*stamp && (missing.lists || **stamp == format_without_endpoint_index)) {
    missing.endpoints = true;
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

std::string pending_key(std::string_view endpoint, time_point due, std::uint64_t seq) {
  auto due_ms = std::max<std::int64_t>(0, to_unix_ms(due));
  return std::string(endpoint) + '/' + big_endian(static_cast<std::uint64_t>(due_ms)) +
         big_endian(seq);
}

// -- write_batch --------------------------------------------------------------

boost::system::error_code write_batch::put_template(const template_record& x) {
  return txn_.put(store_.db_.templates, x.id.value, encode(x));
}

boost::system::error_code write_batch::put_run(const run_record& x) {
  // The spec is written once; only the state changes with a command.
  auto spec = txn_.get(store_.db_.run_specs, x.id.value);
  if (!spec)
    return spec.error();
  if (!*spec)
    RUNDUN_TRY(txn_.put(store_.db_.run_specs, x.id.value, encode_run_spec(x)));
  // The state's value also lists the run's events: they are kept.
  auto old = txn_.get(store_.db_.runs, x.id.value);
  if (!old)
    return old.error();
  RUNDUN_TRY(txn_.put(store_.db_.runs, x.id.value,
                      with_run_state(old->value_or(std::string{}), encode_run_state(x))));
  // Index entries are written only when they change: even an identical put dirties its page.
  RUNDUN_TRY(put_if_absent(store_.db_.tokens, x.token, x.id.value));
  RUNDUN_TRY(list_index::put_run(txn_, store_.db_.lists, x));
  if (x.active())
    return put_if_absent(store_.db_.expiries, expiry_key(x), {});
  RUNDUN_TRY(put_if_absent(store_.db_.ended, ended_key(x), {}));
  return txn_.del(store_.db_.expiries, expiry_key(x));
}

boost::system::error_code write_batch::remove_run(const run_id& id, run_removal& out) {
  out = {};
  auto spec = txn_.get(store_.db_.run_specs, id.value);
  if (!spec)
    return spec.error();
  auto state = txn_.get(store_.db_.runs, id.value);
  if (!state)
    return state.error();
  if (!*spec || !*state)
    return {};
  auto run = decode_run(**spec, run_state_json(**state));
  if (!run)
    return errc::corrupted;
  if (run->active())
    return {};
  // The run's events, as its state value lists them; a pending one keeps the whole run.
  struct doomed_event {
    std::string seq_key;
    event_record record;
  };
  std::vector<doomed_event> events;
  RUNDUN_TRY(for_each_run_event(txn_, store_.db_.runs, store_.db_.events, id,
                                [&](std::string_view seq_key, event_record& ev) {
                                  if (ev.delivery.status == delivery_status::pending) {
                                    out.kept = true;
                                    return false;
                                  }
                                  events.push_back({std::string(seq_key), std::move(ev)});
                                  return true;
                                }));
  if (out.kept)
    return {};
  for (auto& e : events) {
    RUNDUN_TRY(txn_.del(store_.db_.events, e.seq_key));
    RUNDUN_TRY(txn_.del(store_.db_.event_data, e.seq_key));
    RUNDUN_TRY(txn_.del(store_.db_.event_ids, e.record.id.value));
    RUNDUN_TRY(list_index::change_event(txn_, {store_.db_.lists, store_.db_.endpoints}, &e.record,
                                        nullptr));
  }
  RUNDUN_TRY(list_index::remove_run(txn_, store_.db_.lists, *run));
  for (auto& step : run->steps)
    for (auto& photo : step.photos) {
      RUNDUN_TRY(txn_.del(store_.db_.photos, photo));
      RUNDUN_TRY(txn_.del(store_.db_.photo_bytes, photo));
      RUNDUN_TRY(txn_.del(store_.db_.photo_thumbs, photo));
      ++out.photos;
    }
  RUNDUN_TRY(txn_.del(store_.db_.tokens, run->token));
  RUNDUN_TRY(txn_.del(store_.db_.disabled, id.value));
  RUNDUN_TRY(txn_.del(store_.db_.ended, ended_key(*run)));
  RUNDUN_TRY(txn_.del(store_.db_.runs, id.value));
  RUNDUN_TRY(txn_.del(store_.db_.run_specs, id.value));
  out.removed = true;
  out.events = events.size();
  return {};
}

boost::system::error_code write_batch::put_if_absent(MDB_dbi db, std::string_view key,
                                                     std::string_view value) {
  auto old = txn_.get(db, key);
  if (!old)
    return old.error();
  return *old ? boost::system::error_code{} : txn_.put(db, key, value);
}

boost::system::error_code write_batch::put_event(const event_record& x, std::string_view data_json,
                                                 std::string_view endpoint_url) {
  auto key = big_endian(x.seq);
  RUNDUN_TRY(txn_.put(store_.db_.event_ids, x.id.value, key));
  RUNDUN_TRY(txn_.put(store_.db_.events, key, encode(x)));
  RUNDUN_TRY(txn_.put(store_.db_.event_data, key, data_json));
  // A new endpoint's URL row is written with its first event (see endpoint_index::follow).
  RUNDUN_TRY(list_index::change_event(txn_, {store_.db_.lists, store_.db_.endpoints}, nullptr, &x,
                                      endpoint_url));
  // Listed in its run's state value, which this write's command rewrites anyway (a run that
  // is not stored lists nothing).
  auto state = txn_.get(store_.db_.runs, x.run.value);
  if (!state)
    return state.error();
  if (*state)
    RUNDUN_TRY(txn_.put(store_.db_.runs, x.run.value, with_run_event(**state, x.seq)));
  // The sequence number goes to `meta` once per commit (see store::commit), not per event.
  effects_.max_seq = std::max(effects_.max_seq, x.seq);
  if (x.delivery.status == delivery_status::pending && x.delivery.next_attempt_at) {
    ++effects_.pending_deltas[x.endpoint];
    return txn_.put(store_.db_.pending, pending_key(x.endpoint, *x.delivery.next_attempt_at, x.seq),
                    x.id.value);
  }
  return {};
}

boost::system::error_code
write_batch::update_event(const event_id& id, const std::function<void(event_record&)>& change) {
  auto key = event_key(txn_, store_.db_.event_ids, id);
  if (!key)
    return key.error();
  if (!*key)
    return {};
  auto text = txn_.get(store_.db_.events, **key);
  if (!text)
    return text.error();
  if (!*text)
    return errc::corrupted; // indexed but absent
  auto rec = decode_event(**text);
  if (!rec)
    return errc::corrupted;
  auto& old = rec->delivery;
  if (old.status == delivery_status::pending && old.next_attempt_at) {
    RUNDUN_TRY(
        txn_.del(store_.db_.pending, pending_key(rec->endpoint, *old.next_attempt_at, rec->seq)));
    --effects_.pending_deltas[rec->endpoint];
  }
  auto before = *rec;
  change(*rec);
  RUNDUN_TRY(
      list_index::change_event(txn_, {store_.db_.lists, store_.db_.endpoints}, &before, &*rec));
  auto& now = rec->delivery;
  if (now.status == delivery_status::pending && now.next_attempt_at) {
    RUNDUN_TRY(txn_.put(store_.db_.pending,
                        pending_key(rec->endpoint, *now.next_attempt_at, rec->seq), rec->id.value));
    ++effects_.pending_deltas[rec->endpoint];
  }
  return txn_.put(store_.db_.events, **key, encode(*rec));
}

boost::system::error_code write_batch::put_photo(const photo_record& x, std::string_view bytes,
                                                 std::string_view thumbnail_jpeg) {
  RUNDUN_TRY(txn_.put(store_.db_.photos, x.id.value, encode(x)));
  RUNDUN_TRY(txn_.put(store_.db_.photo_bytes, x.id.value, bytes));
  return txn_.put(store_.db_.photo_thumbs, x.id.value, thumbnail_jpeg);
}

boost::system::error_code write_batch::recover_event(const event_id& id, time_point due,
                                                     bool& marked) {
  marked = false;
  std::string endpoint;
  std::uint64_t seq = 0;
  RUNDUN_TRY(update_event(id, [&](event_record& e) {
    if (e.delivery.status != delivery_status::failed || e.endpoint.empty())
      return;
    e.delivery.status = delivery_status::pending;
    e.delivery.next_attempt_at = due;
    e.delivery.round_failures = 0;
    e.delivery.error.reset();
    endpoint = e.endpoint;
    seq = e.seq;
    marked = true;
  }));
  if (!marked)
    return {};
  return list_index::mark_recovering(txn_, store_.db_.lists, endpoint, seq);
}

boost::system::error_code write_batch::put_recovery_job(std::string_view endpoint,
                                                        const std::optional<recovery_job>& job) {
  if (!job)
    return list_index::remove_job(txn_, store_.db_.lists, endpoint);
  return list_index::put_job(txn_, store_.db_.lists, endpoint, *job);
}

boost::system::error_code write_batch::disable_webhook(const run_id& run) {
  return txn_.put(store_.db_.disabled, run.value, {});
}

boost::system::error_code write_batch::put_meta(std::string_view key, std::string_view value) {
  return txn_.put(store_.db_.meta, key, value);
}

// -- store: opening and the writer ---------------------------------------------

boost::system::error_code store::index_ended_runs(lmdb::txn& t, const dbs& d) {
  // Stores written before retention existed have ended runs outside the `ended` index: put
  // them in once, so that retention finds them too.
  auto done = t.get(d.meta, ended_index_meta_key);
  if (!done)
    return done.error();
  if (*done)
    return {};
  std::vector<std::string> keys;
  {
    auto c = lmdb::cursor::open(t, d.runs);
    if (!c)
      return c.error();
    for (bool ok = c->first(); ok; ok = c->next()) {
      auto spec = t.get(d.run_specs, c->key());
      if (!spec)
        return spec.error();
      if (!*spec)
        continue;
      auto run = decode_run(**spec, run_state_json(c->value()));
      if (run && !run->active())
        keys.push_back(ended_key(*run));
    }
  }
  for (auto& k : keys)
    if (auto ec = t.put(d.ended, k, {}))
      return ec;
  return t.put(d.meta, ended_index_meta_key, "1");
}

result<std::unique_ptr<store>> store::open(const std::filesystem::path& dir, std::size_t map_size,
                                           const migration_observer& observe) {
  auto e = lmdb::env::open(dir, map_size, max_dbs);
  if (!e)
    return e.error();
  auto t = lmdb::txn::begin(*e, 0);
  if (!t)
    return t.error();
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
                                              {&d.lists, "lists"}};
  for (auto [slot, name] : names) {
    auto db = lmdb::open_db(*t, name);
    if (!db)
      return db.error();
    *slot = *db;
  }
  auto seq = t->get(d.meta, seq_meta_key);
  if (!seq)
    return seq.error();
  missing_indexes missing;
  if (auto ec = check_format(*t, d.meta, d.runs, d.run_events, observe, missing))
    return ec;
  if (missing.lists)
    if (auto ec = index_for_lists(*t, d, observe))
      return ec;
  if (missing.endpoints)
    if (auto ec = index_endpoints(*t, d, observe))
      return ec;
  if (auto ec = index_ended_runs(*t, d))
    return ec;
  if (auto ec = t->commit())
    return ec;
  std::unique_ptr<store> s{new store(std::move(*e), d)};
  if (*seq)
    s->seq_on_disk_ = s->seq_ = read_big_endian(**seq);
  // One pass over the pending index at start; the writer keeps the counts from then on.
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

store::~store() {
  close_writer();
}

void store::close_writer() {
  {
    std::lock_guard guard{mtx_};
    stopping_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable())
    writer_.join();
  std::lock_guard guard{mtx_};
  closed_ = true;
}

void store::write(write_fn work, done_fn done) {
  {
    std::lock_guard guard{mtx_};
    if (!closed_) {
      queue_.push_back({std::move(work), std::move(done)});
      queued_.store(queue_.size(), std::memory_order_relaxed);
      cv_.notify_one();
      return;
    }
  }
  if (done)
    done(errc::closed);
}

boost::system::error_code store::write_sync(write_fn work) {
  std::promise<boost::system::error_code> p;
  auto f = p.get_future();
  write(std::move(work), [&p](boost::system::error_code ec) { p.set_value(ec); });
  return f.get();
}

void store::run_writer() {
  std::vector<queued> batch;
  for (;;) {
    {
      std::unique_lock lock{mtx_};
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty())
        return; // stopping, and everything queued has been committed
      while (!queue_.empty() && batch.size() < max_batch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      queued_.store(queue_.size(), std::memory_order_relaxed);
    }
    commit(batch);
    batch.clear();
  }
}

/// What one attempt at committing a batch produced: the batch's error (nothing committed) or
/// each write's own outcome.
struct store::batch_outcome {
  boost::system::error_code batch_error;
  std::vector<boost::system::error_code> writes;
};

store::batch_outcome store::apply_batch(std::vector<queued>& batch, bool isolate_writes) {
  batch_outcome out{{}, std::vector<boost::system::error_code>(batch.size())};
  auto parent = lmdb::txn::begin(env_, 0);
  if (!parent) {
    out.batch_error = parent.error();
    return out;
  }
  commit_effects effects;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    std::optional<lmdb::txn> child;
    if (isolate_writes) {
      // A nested transaction per write: one failing write is undone alone.
      auto c = lmdb::txn::begin(env_, 0, parent->handle());
      if (!c) {
        out.writes[i] = c.error();
        continue;
      }
      child.emplace(std::move(*c));
    }
    write_batch wb{*this, child ? *child : *parent};
    if (auto ec = batch[i].work(wb)) {
      if (!isolate_writes) {
        out.batch_error = ec; // the whole transaction aborts; the caller retries isolated
        return out;
      }
      out.writes[i] = ec; // the child aborts in its destructor
      continue;
    }
    if (child)
      if ((out.writes[i] = child->commit()))
        continue;
    effects.merge(std::move(wb.effects_));
  }
  // Batches may commit sequence numbers out of order: only ever raise the stored one.
  if (effects.max_seq > seq_on_disk_)
    out.batch_error = parent->put(db_.meta, seq_meta_key, big_endian(effects.max_seq));
  if (!out.batch_error)
    out.batch_error = parent->commit();
  if (!out.batch_error)
    adopt(std::move(effects));
  return out;
}

void commit_effects::merge(commit_effects&& other) {
  max_seq = std::max(max_seq, other.max_seq);
  for (auto& [endpoint, delta] : other.pending_deltas)
    pending_deltas[endpoint] += delta;
}

void store::adopt(commit_effects&& effects) {
  seq_on_disk_ = std::max(seq_on_disk_, effects.max_seq);
  std::lock_guard guard{counts_mtx_};
  for (auto& [endpoint, delta] : effects.pending_deltas) {
    if (delta == 0)
      continue;
    auto& n = pending_counts_[endpoint];
    n = static_cast<std::uint64_t>(std::max<std::int64_t>(0, static_cast<std::int64_t>(n) + delta));
    if (n == 0)
      pending_counts_.erase(endpoint);
  }
}

boost::system::error_code store::explain(boost::system::error_code ec) const {
  // LMDB reports a short write as EIO: a disk that filled in the middle of a commit. Say so
  // when the file system is in fact (nearly) out of space.
  constexpr std::uint64_t nearly_full = 4 << 20;
  if (ec != errc::io_error)
    return ec;
  const char* path = nullptr;
  struct statvfs fs {};
  if (mdb_env_get_path(env_.handle(), &path) == 0 && path && ::statvfs(path, &fs) == 0 &&
      static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize < nearly_full)
    return errc::disk_full;
  return ec;
}

void store::commit(std::vector<queued>& batch) {
  auto started = std::chrono::steady_clock::now();
  // Writes share one transaction. Nested transactions would isolate them, but LMDB copies
  // every page a child touches, which cost more than the writes themselves; so they are
  // only the fallback, when some write in the batch failed. Writes are pure functions of
  // the transaction, so running one again is safe.
  auto out = apply_batch(batch, false);
  if (out.batch_error && batch.size() > 1)
    out = apply_batch(batch, true);
  out.batch_error = explain(out.batch_error);
  if (out.batch_error == errc::panic)
    panicked_.store(true, std::memory_order_relaxed);
  auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - started);
  auto micros = elapsed.count();
  stats_.commit_latency.record(elapsed);
  stats_.batches.fetch_add(1, std::memory_order_relaxed);
  stats_.writes.fetch_add(batch.size(), std::memory_order_relaxed);
  stats_.commit_micros_total.fetch_add(static_cast<std::uint64_t>(micros),
                                       std::memory_order_relaxed);
  boost::system::error_code first_failure;
  std::size_t failed = 0;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    auto ec = out.batch_error ? out.batch_error : out.writes[i];
    if (ec) {
      stats_.failures.fetch_add(1, std::memory_order_relaxed);
      if (!failed++)
        first_failure = ec;
    }
    if (batch[i].done)
      batch[i].done(ec);
  }
  if (failed && on_failure_)
    on_failure_(first_failure, failed);
  note_write_health(first_failure, batch.size() - failed);
}

namespace {

/// Whether `ec` says the store cannot write at all, not that one write was refused.
bool store_cannot_write(boost::system::error_code ec) {
  if (ec.category() != category())
    return false;
  switch (static_cast<errc>(ec.value())) {
  case errc::map_full:
  case errc::io_error:
  case errc::disk_full:
  case errc::read_only:
  case errc::panic:
    return true;
  default:
    return false;
  }
}

} // namespace

void store::note_write_health(boost::system::error_code first_failure, std::size_t stored) {
  if (store_cannot_write(first_failure))
    write_failure_.store(first_failure.value(), std::memory_order_relaxed);
  else if (stored > 0 && !panicked_.load(std::memory_order_relaxed))
    write_failure_.store(0, std::memory_order_relaxed);
}

std::optional<boost::system::error_code> store::write_failure() const {
  if (panicked_.load(std::memory_order_relaxed))
    return make_error_code(errc::panic);
  if (auto v = write_failure_.load(std::memory_order_relaxed))
    return make_error_code(static_cast<errc>(v));
  return std::nullopt;
}

// -- store: reads --------------------------------------------------------------

template <class T, class Decode>
result<std::optional<T>> store::read_record(MDB_dbi db, std::string_view key, Decode decode) const {
  auto t = lmdb::txn::begin_read(env_);
  if (!t)
    return t.error();
  auto text = t->get(db, key);
  if (!text)
    return text.error();
  if (!*text)
    return std::optional<T>{};
  auto rec = decode(**text);
  if (!rec)
    return make_error_code(errc::corrupted);
  return std::optional<T>{std::move(*rec)};
}

result<std::optional<template_record>> store::find_template(const template_id& id) const {
  return read_record<template_record>(db_.templates, id.value, decode_template);
}

result<std::optional<run_record>> store::run_at(const lmdb::txn& t, const dbs& d,
                                                std::string_view id) {
  auto spec = t.get(d.run_specs, id);
  if (!spec)
    return spec.error();
  if (!*spec)
    return std::optional<run_record>{};
  auto state = t.get(d.runs, id);
  if (!state)
    return state.error();
  if (!*state)
    return make_error_code(errc::corrupted); // a spec without its state
  auto run = decode_run(**spec, run_state_json(**state));
  if (!run)
    return make_error_code(errc::corrupted);
  return std::optional<run_record>{std::move(*run)};
}

result<std::optional<run_record>> store::find_run(const run_id& id) const {
  auto t = lmdb::txn::begin_read(env_);
  if (!t)
    return t.error();
  return run_at(*t, db_, id.value);
}

template <class T, class Decode>
result<std::optional<T>> store::read_event_table(MDB_dbi db, const event_id& id,
                                                 Decode decode) const {
  auto t = lmdb::txn::begin_read(env_);
  if (!t)
    return t.error();
  auto key = event_key(*t, db_.event_ids, id);
  if (!key)
    return key.error();
  if (!*key)
    return std::optional<T>{};
  auto text = t->get(db, **key);
  if (!text)
    return text.error();
  if (!*text)
    return make_error_code(errc::corrupted); // indexed but absent
  auto rec = decode(**text);
  if (!rec)
    return make_error_code(errc::corrupted);
  return std::optional<T>{std::move(*rec)};
}

result<std::optional<event_record>> store::find_event(const event_id& id) const {
  return read_event_table<event_record>(db_.events, id, decode_event);
}

result<std::optional<run_id>> store::find_run_by_token(std::string_view token) const {
  auto id = read_record<std::string>(db_.tokens, token, as_text);
  if (!id)
    return id.error();
  if (!*id)
    return std::optional<run_id>{};
  return std::optional<run_id>{run_id{std::move(**id)}};
}

result<std::optional<std::string>> store::event_data(const event_id& id) const {
  return read_event_table<std::string>(db_.event_data, id, as_text);
}

result<std::optional<std::string>> store::endpoint_url(std::string_view endpoint) const {
  return read_record<std::string>(db_.endpoints, endpoint, as_text);
}

result<std::optional<std::string>> store::meta(std::string_view key) const {
  return read_record<std::string>(db_.meta, key, as_text);
}

result<std::optional<photo_record>> store::find_photo(const photo_id& id) const {
  return read_record<photo_record>(db_.photos, id.value, decode_photo);
}

result<std::optional<std::string>> store::photo_bytes(const photo_id& id) const {
  return read_record<std::string>(db_.photo_bytes, id.value, as_text);
}

result<std::optional<photo_with_thumbnail>> store::photo_thumbnail(const photo_id& id) const {
  auto rec = find_photo(id);
  if (!rec)
    return rec.error();
  if (!*rec)
    return std::optional<photo_with_thumbnail>{};
  auto thumb = read_record<std::string>(db_.photo_thumbs, id.value, as_text);
  if (!thumb)
    return thumb.error();
  return std::optional<photo_with_thumbnail>{
      photo_with_thumbnail{std::move(**rec), thumb->value_or("")}};
}

result<bool> store::webhook_disabled(const run_id& run) const {
  auto t = lmdb::txn::begin_read(env_);
  if (!t)
    return {boost::system::in_place_error, t.error()};
  auto v = t->get(db_.disabled, run.value);
  if (!v)
    return {boost::system::in_place_error, v.error()};
  return v->has_value();
}

template <class T, class Body>
result<T> store::scan(MDB_dbi db, Body&& body) const {
  auto t = lmdb::txn::begin_read(env_);
  if (!t)
    return t.error();
  auto c = lmdb::cursor::open(*t, db);
  if (!c)
    return c.error();
  return body(*t, *c);
}

result<std::vector<event_record>> store::run_events(const run_id& id) const {
  auto t = lmdb::txn::begin_read(env_);
  if (!t)
    return t.error();
  std::vector<event_record> out;
  if (auto ec =
          for_each_run_event(*t, db_.runs, db_.events, id, [&](std::string_view, event_record& ev) {
            out.push_back(std::move(ev));
            return true;
          }))
    return ec;
  return out;
}

result<std::vector<std::pair<run_id, time_point>>> store::active_runs() const {
  using runs = std::vector<std::pair<run_id, time_point>>;
  return scan<runs>(db_.expiries, [](lmdb::txn&, lmdb::cursor& c) -> result<runs> {
    runs out;
    for (bool ok = c.first(); ok; ok = c.next()) {
      auto k = c.key();
      auto ms = static_cast<std::int64_t>(read_big_endian(k));
      out.emplace_back(run_id{std::string(k.substr(8))}, from_unix_ms(ms));
    }
    return out;
  });
}

result<std::vector<std::pair<run_id, time_point>>>
store::runs_expiring_by(time_point until, std::size_t limit) const {
  using runs = std::vector<std::pair<run_id, time_point>>;
  return scan<runs>(db_.expiries, [&](lmdb::txn&, lmdb::cursor& c) -> result<runs> {
    runs out;
    for (bool ok = c.first(); ok && out.size() < limit; ok = c.next()) {
      auto k = c.key();
      auto at = from_unix_ms(static_cast<std::int64_t>(read_big_endian(k)));
      if (at > until)
        break;
      out.emplace_back(run_id{std::string(k.substr(8))}, at);
    }
    return out;
  });
}

result<std::vector<run_id>> store::runs_ended_by(time_point until, std::size_t limit) const {
  using ids = std::vector<run_id>;
  return scan<ids>(db_.ended, [&](lmdb::txn&, lmdb::cursor& c) -> result<ids> {
    ids out;
    for (bool ok = c.first(); ok && out.size() < limit; ok = c.next()) {
      auto k = c.key();
      if (from_unix_ms(static_cast<std::int64_t>(read_big_endian(k))) > until)
        break;
      out.push_back(run_id{std::string(k.substr(8))});
    }
    return out;
  });
}

result<std::size_t> store::active_run_count() const {
  auto t = lmdb::txn::begin_read(env_);
  if (!t)
    return t.error();
  return t->count(db_.expiries);
}

result<std::optional<time_point>> store::next_expiry() const {
  using next = std::optional<time_point>;
  return scan<next>(db_.expiries, [](lmdb::txn&, lmdb::cursor& c) -> result<next> {
    if (!c.first())
      return next{};
    return next{from_unix_ms(static_cast<std::int64_t>(read_big_endian(c.key())))};
  });
}

result<std::vector<pending_entry>> store::pending(std::string_view endpoint,
                                                  std::size_t limit) const {
  using entries = std::vector<pending_entry>;
  return scan<entries>(db_.pending, [&](lmdb::txn&, lmdb::cursor& c) -> result<entries> {
    entries out;
    auto prefix = std::string(endpoint) + '/';
    for (bool ok = c.seek(prefix); ok && out.size() < limit && c.key().starts_with(prefix);
         ok = c.next()) {
      auto rest = c.key().substr(prefix.size());
      out.push_back({event_id{std::string(c.value())},
                     from_unix_ms(static_cast<std::int64_t>(read_big_endian(rest))),
                     read_big_endian(rest.substr(8))});
    }
    return out;
  });
}

result<std::unordered_map<std::string, std::uint64_t>> store::count_pending() const {
  using counts = std::unordered_map<std::string, std::uint64_t>;
  return scan<counts>(db_.pending, [](lmdb::txn&, lmdb::cursor& c) -> result<counts> {
    counts out;
    for (bool ok = c.first(); ok; ok = c.next()) {
      auto k = c.key();
      ++out[std::string(k.substr(0, k.find('/')))];
    }
    return out;
  });
}

std::vector<std::pair<std::string, std::uint64_t>> store::pending_counts() const {
  std::lock_guard guard{counts_mtx_};
  return {pending_counts_.begin(), pending_counts_.end()};
}

result<std::vector<std::string>> store::endpoints_with_pending() const {
  using keys = std::vector<std::string>;
  return scan<keys>(db_.pending, [](lmdb::txn&, lmdb::cursor& c) -> result<keys> {
    keys out;
    // Skip from one endpoint's entries to the next: seek past "<endpoint>/" by seeking to
    // "<endpoint>0" ('0' follows '/').
    for (bool ok = c.first(); ok;) {
      auto k = c.key();
      std::string endpoint{k.substr(0, k.find('/'))};
      ok = c.seek(endpoint + char('/' + 1));
      out.push_back(std::move(endpoint));
    }
    return out;
  });
}

} // namespace rundun::persistence
