// The moves of an older store to the current format, each run once inside the open's
// transaction (store_open.cpp decides which): the runs' event lists of format 3, the list
// indexes of format 4, the endpoint index of format 5, and the `ended` index of a store
// written before retention.

#include "persistence/endpoint_index.hpp"
#include "persistence/list_index.hpp"
#include "persistence/record_codec.hpp"
#include "persistence/run_value.hpp"
#include "persistence/store.hpp"
#include "persistence/store_format.hpp"
#include "persistence/table_keys.hpp"

#include <algorithm>

namespace rundun::persistence {

namespace {

/// Marks a store whose ended runs are all in the `ended` index.
constexpr std::string_view ended_index_meta_key = "ended_index";

/// A move is reported about once per this fraction of what it moves (every 5 %).
constexpr std::size_t reports_per_move = 20;

/// Tells the observer how far one move has got: at its start, about every 5 % of what it
/// moves, and at its end.
class progress_report {
public:
  progress_report(const migration_observer& observe, migration_progress progress)
      : observe_(observe), progress_(progress),
        step_(std::max<std::size_t>(1, progress.runs_total / reports_per_move)) {
    tell();
  }

  /// One more run (or endpoint) moved.
  void one_done() {
    if (++progress_.runs_done % step_ == 0 && progress_.runs_done < progress_.runs_total)
      tell();
  }

  void finish() {
    progress_.finished = true;
    tell();
  }

private:
  void tell() {
    if (observe_)
      observe_(progress_);
  }

  const migration_observer& observe_;
  migration_progress progress_;
  std::size_t step_;
};

} // namespace

boost::system::error_code store::list_events_in_runs(lmdb::txn& t, const dbs& d,
                                                     const migration_observer& observe) {
  // The index's keys are `<run id>/<seq>`, the sequence number big-endian.
  std::vector<std::pair<std::string, std::uint64_t>> listed;
  {
    auto c = lmdb::cursor::open(t, d.run_events);
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
  std::size_t runs_total = 0;
  for (std::size_t i = 0; i < listed.size(); ++i)
    if (i == 0 || listed[i].first != listed[i - 1].first)
      ++runs_total;
  progress_report report{observe,
                         {format_listing_events_apart, format_without_lists, 0, runs_total}};
  // Keys sort by run, then by sequence number: one rewrite per run.
  for (std::size_t i = 0; i < listed.size();) {
    auto& run = listed[i].first;
    std::vector<std::uint64_t> seqs;
    for (; i < listed.size() && listed[i].first == run; ++i)
      seqs.push_back(listed[i].second);
    auto state = t.get(d.runs, run);
    if (!state)
      return state.error();
    if (*state)
      RUNDUN_TRY(t.put(d.runs, run, with_run_events(**state, seqs)));
    report.one_done();
  }
  RUNDUN_TRY(t.clear(d.run_events));
  report.finish();
  return {};
}

boost::system::error_code store::index_for_lists(lmdb::txn& t, const dbs& d,
                                                 const migration_observer& observe) {
  std::vector<std::string> ids;
  {
    auto c = lmdb::cursor::open(t, d.run_specs);
    if (!c)
      return c.error();
    for (bool ok = c->first(); ok; ok = c->next())
      ids.emplace_back(c->key());
  }
  progress_report report{observe,
                         {format_without_lists, format_without_endpoint_index, 0, ids.size()}};
  for (auto& id : ids) {
    auto run = run_at(t, d, id);
    if (!run)
      return run.error();
    if (!*run)
      continue;
    RUNDUN_TRY(list_index::put_run(t, d.lists, **run));
    boost::system::error_code indexed;
    list_index::figures_cache figures;
    RUNDUN_TRY(for_each_run_event(t, d, (*run)->id, [&](std::string_view, event_record& e) {
      indexed = list_index::change_event(t, {d.lists, d.endpoints}, figures, nullptr, &e);
      return !indexed;
    }));
    RUNDUN_TRY(indexed);
    RUNDUN_TRY(figures.flush(t, {d.lists, d.endpoints}));
    report.one_done();
  }
  report.finish();
  return {};
}

boost::system::error_code store::index_endpoints(lmdb::txn& t, const dbs& d,
                                                 const migration_observer& observe) {
  auto all = list_index::all_stats(t, d.lists);
  if (!all)
    return all.error();
  progress_report report{observe,
                         {format_without_endpoint_index, format_without_delivery_log, 0,
                          all->size(), false, "endpoints"}};
  endpoint_index::tables tables{d.lists, d.endpoints};
  for (auto& [key, figures] : *all) {
    // Before format 6, retention left an endpoint's figures at zero once its last event
    // was removed: its rows go now, as they would today.
    bool none_left = figures.pending + figures.delivered + figures.failed == 0;
    if (none_left) {
      RUNDUN_TRY(endpoint_index::follow(t, tables, key, figures, std::nullopt, {}));
      RUNDUN_TRY(list_index::remove_stats(t, d.lists, key));
    } else {
      RUNDUN_TRY(endpoint_index::follow(t, tables, key, std::nullopt, figures, {}));
    }
    report.one_done();
  }
  report.finish();
  return {};
}

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

boost::system::error_code store::start_delivery_log(lmdb::txn& t, const dbs& d,
                                                    const migration_observer& observe) {
  // Format 6 kept each event's whole delivery state in its record; format 7 appends the
  // changes to a log (delivery_log.hpp) and folds them over the record. An older record is
  // its event's state so far, with an empty log: nothing is rewritten.
  auto events = t.count(d.events);
  if (!events)
    return events.error();
  progress_report report{observe,
                         {format_without_delivery_log, format_with_first_attempt_entries, *events,
                          *events, false, "events"}};
  report.finish();
  return {};
}

boost::system::error_code store::mark_first_attempts(lmdb::txn& t, const dbs& d,
                                                     const migration_observer& observe) {
  // Format 8 finds an event waiting for its first attempt from the low-water mark, not from
  // an entry of its own: the entries go, and the mark is the lowest of their events.
  auto entries = t.count(d.pending);
  if (!entries)
    return entries.error();
  progress_report report{
      observe,
      {format_with_first_attempt_entries, format_version, 0, *entries, false, "pending_entries"}};
  std::vector<std::string> firsts;
  std::optional<std::uint64_t> mark;
  {
    auto c = lmdb::cursor::open(t, d.pending);
    if (!c)
      return c.error();
    for (bool ok = c->first(); ok; ok = c->next(), report.one_done()) {
      auto k = c->key();
      auto seq = read_big_endian(k.substr(k.size() - 8));
      auto ev = event_at(t, d, seq);
      if (!ev)
        return ev.error();
      if (!*ev || !(*ev)->delivery.attempts.empty())
        continue;
      firsts.emplace_back(k);
      mark = std::min(mark.value_or(seq), seq);
    }
  }
  for (auto& k : firsts)
    RUNDUN_TRY(t.del(d.pending, k));
  if (!mark) {
    // None waits: every event stored has had its first attempt.
    auto seq = t.get(d.meta, seq_meta_key);
    if (!seq)
      return seq.error();
    mark = (*seq ? read_big_endian(**seq) : 0) + 1;
  }
  RUNDUN_TRY(t.put(d.meta, first_attempt_mark_key, big_endian(*mark)));
  report.finish();
  return {};
}

} // namespace rundun::persistence
