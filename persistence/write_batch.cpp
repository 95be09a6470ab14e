// The write batch: the typed writes of one group commit, each keeping the secondary indexes
// in step with its records, and the keys of those tables and indexes (table_keys.hpp).

#include "persistence/write_batch.hpp"

#include "persistence/list_index.hpp"
#include "persistence/record_codec.hpp"
#include "persistence/run_value.hpp"
#include "persistence/store.hpp"
#include "persistence/table_keys.hpp"

#include <algorithm>

namespace rundun::persistence {

// -- table keys -----------------------------------------------------------------

result<std::optional<std::string>> event_key(const lmdb::txn& t, MDB_dbi ids, const event_id& id) {
  return t.get(ids, id.value);
}

std::string expiry_key(const run_record& r) {
  return big_endian(static_cast<std::uint64_t>(to_unix_ms(r.expires_at))) + r.id.value;
}

std::string ended_key(const run_record& r) {
  auto ms = std::max<std::int64_t>(0, to_unix_ms(r.ended_at.value_or(r.created_at)));
  return big_endian(static_cast<std::uint64_t>(ms)) + r.id.value;
}

std::string pending_key(std::string_view endpoint, time_point due, std::uint64_t seq) {
  auto due_ms = std::max<std::int64_t>(0, to_unix_ms(due));
  return std::string(endpoint) + '/' + big_endian(static_cast<std::uint64_t>(due_ms)) +
         big_endian(seq);
}

// -- write_batch ------------------------------------------------------------------

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
  RUNDUN_TRY(store::for_each_run_event(txn_, store_.db_, id,
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
    RUNDUN_TRY(list_index::change_event(txn_, {store_.db_.lists, store_.db_.endpoints}, figures_,
                                        &e.record, nullptr));
    RUNDUN_TRY(remove_log(e.record.seq));
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
  RUNDUN_TRY(list_index::change_event(txn_, {store_.db_.lists, store_.db_.endpoints}, figures_,
                                      nullptr, &x, endpoint_url));
  // Listed in its run's state value, which this write's command rewrites anyway (a run that
  // is not stored lists nothing).
  auto state = txn_.get(store_.db_.runs, x.run.value);
  if (!state)
    return state.error();
  if (*state)
    RUNDUN_TRY(txn_.put(store_.db_.runs, x.run.value, with_run_event(**state, x.seq)));
  // The sequence number goes to `meta` once per commit (see store::commit), not per event.
  effects_.max_seq = std::max(effects_.max_seq, x.seq);
  return move_wait(x, {}, place_of(x.delivery));
}

boost::system::error_code write_batch::append_step(std::uint64_t seq, const delivery_step& step) {
  // A fresh sequence number orders the event's steps; it is kept in `meta` with the others.
  auto step_seq = store_.next_seq();
  effects_.max_seq = std::max(effects_.max_seq, step_seq);
  return txn_.put(store_.db_.deliveries, step_key(seq, step_seq), encode(step));
}

boost::system::error_code write_batch::remove_log(std::uint64_t seq) {
  std::vector<std::string> keys;
  {
    auto c = lmdb::cursor::open(txn_, store_.db_.deliveries);
    if (!c)
      return c.error();
    auto prefix = step_prefix(seq);
    for (bool ok = c->seek(prefix); ok && c->key().starts_with(prefix); ok = c->next())
      keys.emplace_back(c->key());
  }
  for (auto& k : keys)
    RUNDUN_TRY(txn_.del(store_.db_.deliveries, k));
  return {};
}

write_batch::wait_place write_batch::place_of(const delivery_state& d) {
  if (d.status != delivery_status::pending || !d.next_attempt_at)
    return {};
  if (d.attempts.empty())
    return {true, {}};
  return {false, d.next_attempt_at};
}

bool write_batch::waits_first(std::string_view endpoint, std::uint64_t seq) const {
  for (auto* changes : {&effects_.first_attempts, &earlier_.first_attempts})
    if (auto it = changes->find(seq); it != changes->end())
      return it->second.waiting;
  // The writer is the only thread that changes the store's sets: it reads them unlocked.
  return store_.first_attempts_.contains(endpoint, seq);
}

result<bool> write_batch::leave(const event_record& e, wait_place place) {
  bool there = false;
  if (place.first) {
    there = waits_first(e.endpoint, e.seq);
    if (there)
      effects_.first_attempts.insert_or_assign(
          e.seq, commit_effects::first_attempt_change{e.endpoint, false});
  } else if (place.due) {
    auto removed = txn_.erase(store_.db_.pending, pending_key(e.endpoint, *place.due, e.seq));
    if (!removed)
      return removed;
    there = *removed;
  }
  if (there)
    --effects_.pending_deltas[e.endpoint];
  return there;
}

boost::system::error_code write_batch::move_wait(const event_record& e, wait_place before,
                                                 wait_place after) {
  if (before == after)
    return {};
  if (auto left = leave(e, before); !left)
    return left.error();
  if (after.first || after.due)
    ++effects_.pending_deltas[e.endpoint];
  if (after.first)
    effects_.first_attempts.insert_or_assign(
        e.seq, commit_effects::first_attempt_change{e.endpoint, true});
  if (after.due)
    return txn_.put(store_.db_.pending, pending_key(e.endpoint, *after.due, e.seq), e.id.value);
  return {};
}

boost::system::error_code write_batch::append_delivery(const delivery_change& c) {
  // The event as the endpoint had it; `after` adds the step's attempt, if any.
  auto& before = c.before;
  // The endpoint's copy holds only while the event waits where it thinks: for its first
  // attempt, or at its due time in the pending index. If it does not (the event moved on
  // without that copy, after an endpoint actor failed, or is gone), the step is applied to
  // the event as stored.
  auto left = leave(
      before, is_first_attempt(c)
                  ? wait_place{true, {}}
                  : wait_place{false, before.delivery.next_attempt_at.value_or(before.created_at)});
  if (!left)
    return left.error();
  if (!*left)
    return update_event(before.id, [&c](event_record& e) { fold(e.delivery, c.step); });
  auto after = before;
  fold(after.delivery, c.step);
  RUNDUN_TRY(append_step(before.seq, c.step));
  RUNDUN_TRY(move_wait(after, {}, place_of(after.delivery)));
  return list_index::change_event(txn_, {store_.db_.lists, store_.db_.endpoints}, figures_, &before,
                                  &after);
}

boost::system::error_code
write_batch::update_event(const event_id& id, const std::function<void(event_record&)>& change) {
  auto key = event_key(txn_, store_.db_.event_ids, id);
  if (!key)
    return key.error();
  if (!*key)
    return {};
  auto rec = store::event_at(txn_, store_.db_, read_big_endian(**key));
  if (!rec)
    return rec.error();
  if (!*rec)
    return errc::corrupted; // indexed but absent
  auto before = **rec;
  auto& after = **rec;
  change(after);
  auto& b = before.delivery;
  auto& a = after.delivery;
  if (a.status == b.status && a.attempts.size() == b.attempts.size() &&
      a.next_attempt_at == b.next_attempt_at && a.error == b.error &&
      a.round_failures == b.round_failures)
    return {}; // nothing changed (a recovery that found the event no longer failed)
  RUNDUN_TRY(append_step(before.seq, step_between(before.delivery, after.delivery)));
  RUNDUN_TRY(move_wait(before, place_of(before.delivery), place_of(after.delivery)));
  return list_index::change_event(txn_, {store_.db_.lists, store_.db_.endpoints}, figures_, &before,
                                  &after);
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
  return list_index::mark_recovering(txn_, store_.db_.lists, figures_, endpoint, seq);
}

boost::system::error_code write_batch::put_recovery_job(std::string_view endpoint,
                                                        const std::optional<recovery_job>& job) {
  if (!job)
    return list_index::remove_job(txn_, store_.db_.lists, endpoint);
  return list_index::put_job(txn_, store_.db_.lists, endpoint, *job);
}

boost::system::error_code write_batch::disable_endpoint(std::string_view endpoint, time_point at,
                                                        std::chrono::milliseconds after,
                                                        bool& disabled) {
  disabled = false;
  auto cached = figures_.at(txn_, store_.db_.lists, endpoint);
  if (!cached)
    return cached.error();
  auto& figures = **cached;
  // Decided here, on the figures this commit has: a 2xx or a recovery committed since the
  // actor looked keeps the endpoint enabled.
  if (!figures || figures->disabled_at || !figures->failing_since ||
      at - *figures->failing_since < after)
    return {};
  auto job = list_index::job(txn_, store_.db_.lists, endpoint);
  if (!job)
    return job.error();
  if (*job)
    return {};
  disabled = disable(*figures, at);
  return {};
}

boost::system::error_code write_batch::enable_endpoint(std::string_view endpoint, time_point at) {
  auto cached = figures_.at(txn_, store_.db_.lists, endpoint);
  if (!cached)
    return cached.error();
  if (auto& figures = **cached)
    enable(*figures, at);
  return {};
}

boost::system::error_code write_batch::disable_webhook(const run_id& run) {
  return txn_.put(store_.db_.disabled, run.value, {});
}

boost::system::error_code write_batch::put_meta(std::string_view key, std::string_view value) {
  return txn_.put(store_.db_.meta, key, value);
}

} // namespace rundun::persistence
