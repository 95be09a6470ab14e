// The store's index scans, each in one read transaction on the caller's thread: active runs
// by expiry, ended runs by end, and pending deliveries by endpoint and due time (those
// waiting for their first attempt from memory, see first_attempts.hpp); with the pending
// counts and the first attempts that one scan each finds at open and the writer keeps from
// then on. The keys they
// read are laid out in table_keys.hpp and by `pending_key` (store.hpp).

#include "persistence/store.hpp"

#include "persistence/delivery_log.hpp"
#include "persistence/record_codec.hpp"
#include "persistence/table_keys.hpp"

#include <algorithm>
#include <tuple>

namespace rundun::persistence {

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
  auto page = scan<entries>(db_.pending, [&](lmdb::txn& t, lmdb::cursor& c) -> result<entries> {
    entries out;
    // The events waiting for their first attempt, from memory, as this snapshot has them:
    // one attempted since is skipped, and one committed after it is not in it (its order
    // comes after this page). A page shorter than `limit` must mean that nothing more
    // waits, so the set is read on past the skipped ones.
    std::size_t firsts = 0;
    for (std::uint64_t from = 0;;) {
      std::vector<std::uint64_t> seqs;
      {
        std::lock_guard guard{counts_mtx_};
        seqs = first_attempts_.first(endpoint, from, limit);
      }
      for (auto seq : seqs) {
        from = seq + 1;
        auto ev = event_at(t, db_, seq);
        if (!ev)
          return ev.error();
        if (!*ev || !write_batch::place_of((*ev)->delivery).first)
          continue;
        out.push_back(
            {(*ev)->id, (*ev)->delivery.next_attempt_at.value_or((*ev)->created_at), seq});
        if (++firsts == limit)
          break;
      }
      if (firsts == limit || seqs.size() < limit)
        break;
    }
    // Then those waiting for a later attempt, in the pending index.
    auto prefix = std::string(endpoint) + '/';
    for (bool ok = c.seek(prefix); ok && out.size() < firsts + limit && c.key().starts_with(prefix);
         ok = c.next()) {
      auto rest = c.key().substr(prefix.size());
      out.push_back({event_id{std::string(c.value())},
                     from_unix_ms(static_cast<std::int64_t>(read_big_endian(rest))),
                     read_big_endian(rest.substr(8))});
    }
    return out;
  });
  if (!page)
    return page;
  std::sort(page->begin(), page->end(),
            [](auto& a, auto& b) { return std::tie(a.due, a.seq) < std::tie(b.due, b.seq); });
  if (page->size() > limit)
    page->resize(limit);
  return page;
}

result<std::unordered_map<std::string, std::uint64_t>> store::count_pending() const {
  using counts = std::unordered_map<std::string, std::uint64_t>;
  auto out = scan<counts>(db_.pending, [](lmdb::txn&, lmdb::cursor& c) -> result<counts> {
    counts out;
    for (bool ok = c.first(); ok; ok = c.next()) {
      auto k = c.key();
      ++out[std::string(k.substr(0, k.find('/')))];
    }
    return out;
  });
  if (!out)
    return out;
  std::lock_guard guard{counts_mtx_};
  for (auto& endpoint : first_attempts_.endpoints())
    (*out)[endpoint] += first_attempts_.count(endpoint);
  return out;
}

std::vector<std::pair<std::string, std::uint64_t>> store::pending_counts() const {
  std::lock_guard guard{counts_mtx_};
  return {pending_counts_.begin(), pending_counts_.end()};
}

result<std::vector<std::string>> store::endpoints_with_pending() const {
  using keys = std::vector<std::string>;
  auto out = scan<keys>(db_.pending, [](lmdb::txn&, lmdb::cursor& c) -> result<keys> {
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
  if (!out)
    return out;
  std::lock_guard guard{counts_mtx_};
  for (auto& endpoint : first_attempts_.endpoints())
    if (std::find(out->begin(), out->end(), endpoint) == out->end())
      out->push_back(endpoint);
  return out;
}

boost::system::error_code store::find_first_attempts() {
  auto t = lmdb::txn::begin_read(env_);
  if (!t)
    return t.error();
  auto mark = t->get(db_.meta, first_attempt_mark_key);
  if (!mark)
    return mark.error();
  mark_on_disk_ = *mark ? read_big_endian(**mark) : 0;
  auto events = lmdb::cursor::open(*t, db_.events);
  if (!events)
    return events.error();
  auto log = lmdb::cursor::open(*t, db_.deliveries);
  if (!log)
    return log.error();
  std::lock_guard guard{counts_mtx_};
  for (bool ok = events->seek(big_endian(mark_on_disk_)); ok; ok = events->next()) {
    auto seq = read_big_endian(events->key());
    // An event with an attempt in its log has had its first one: most events past the mark
    // after a restart, told without decoding their record.
    auto prefix = step_prefix(seq);
    bool logged = false, attempted = false;
    for (bool in = log->seek(prefix); in && log->key().starts_with(prefix); in = log->next()) {
      logged = true;
      auto step = decode_step(log->value());
      if (!step)
        return errc::corrupted;
      attempted = attempted || step->attempt.has_value();
    }
    if (attempted)
      continue;
    std::optional<event_record> ev;
    if (logged) {
      auto folded = event_at(*t, db_, seq);
      if (!folded)
        return folded.error();
      ev = std::move(*folded);
    } else {
      ev = decode_event(events->value());
      if (!ev)
        return errc::corrupted;
    }
    if (ev && write_batch::place_of(ev->delivery).first)
      first_attempts_.add(ev->endpoint, ev->seq);
  }
  return {};
}

result<std::optional<time_point>> store::first_attempt_due(const lmdb::txn& t,
                                                           std::string_view endpoint) const {
  std::optional<std::uint64_t> first;
  {
    std::lock_guard guard{counts_mtx_};
    first = first_attempts_.mark(endpoint);
  }
  if (!first)
    return std::optional<time_point>{};
  auto ev = event_at(t, db_, *first);
  if (!ev)
    return ev.error();
  if (!*ev)
    return std::optional<time_point>{}; // committed after `t` began
  return std::optional<time_point>{(*ev)->delivery.next_attempt_at.value_or((*ev)->created_at)};
}

} // namespace rundun::persistence
