// The store's lists (contract §8): pages over the indexes of persistence/list_index.hpp and
// persistence/endpoint_index.hpp, endpoint figures and recovery jobs. An older store's
// indexes are built once, at open (store_migrations.cpp).

#include "persistence/endpoint_index.hpp"
#include "persistence/list_index.hpp"
#include "persistence/record_codec.hpp"
#include "persistence/run_value.hpp"
#include "persistence/store.hpp"

#include <algorithm>

namespace rundun::persistence {

namespace {

std::optional<std::int64_t> ms_of(const std::optional<time_point>& t) {
  if (!t)
    return std::nullopt;
  return to_unix_ms(*t);
}

list_position position_of(const run_record& r) {
  return {to_unix_ms(r.created_at), r.id.value};
}

list_position position_of(const event_record& e) {
  return {to_unix_ms(e.created_at), e.id.value};
}

/// Where the next page starts: past the last item when another match was seen; where the
/// walk stopped when its budget ran out; nowhere at the end.
template <class T>
void set_next(list_page<T>& page, bool more, const list_index::walk_end& end, std::size_t limit) {
  if (more || (end.budget_spent && page.items.size() == limit))
    page.next = position_of(page.items.back());
  else if (end.budget_spent)
    page.next = end.last_seen;
}

bool matches(const event_filter& f, const event_record& e) {
  auto ms = to_unix_ms(e.created_at);
  return (!f.status || e.delivery.status == *f.status) && (!f.type || e.type == *f.type) &&
         (!f.endpoint || e.endpoint == *f.endpoint) &&
         (!f.created_after || ms > to_unix_ms(*f.created_after)) &&
         (!f.created_before || ms < to_unix_ms(*f.created_before));
}

/// One page over the entries under `prefix`, newest first: `load(position, value)` reads
/// an entry's item, or none when the entry does not match the filter.
template <class T, class Load>
result<list_page<T>> page_over(lmdb::cursor& c, const std::string& prefix,
                               const list_index::walk_bounds& bounds, std::size_t limit,
                               Load load) {
  list_page<T> page;
  bool more = false;
  boost::system::error_code failure;
  auto end = list_index::walk_newest_first(c, prefix, bounds,
                                           [&](const list_position& at, std::string_view value) {
                                             result<std::optional<T>> item = load(at, value);
                                             if (!item) {
                                               failure = item.error();
                                               return false;
                                             }
                                             if (!*item)
                                               return true;
                                             if (page.items.size() == limit) {
                                               more = true; // one more match: there is a next page
                                               return false;
                                             }
                                             page.items.push_back(std::move(**item));
                                             return true;
                                           });
  if (failure)
    return failure;
  set_next(page, more, end, limit);
  return page;
}

} // namespace

result<list_page<run_record>> store::list_runs(const run_filter& f, const list_request& r) const {
  auto t = lmdb::txn::begin_read(env_);
  if (!t)
    return t.error();
  auto c = lmdb::cursor::open(*t, db_.lists);
  if (!c)
    return c.error();
  list_index::walk_bounds bounds{r.after, ms_of(f.created_after), ms_of(f.created_before),
                                 r.budget};
  using found = result<std::optional<run_record>>;
  return page_over<run_record>(
      *c, list_index::runs_prefix(f.status), bounds, r.limit,
      [&](const list_position& at, std::string_view template_of_run) -> found {
        if (f.template_id_ && template_of_run != f.template_id_->value)
          return std::optional<run_record>{};
        auto run = run_at(*t, db_, at.id);
        if (run && !*run)
          return make_error_code(errc::corrupted); // indexed but absent
        return run;
      });
}

result<list_page<event_record>> store::list_events(const event_filter& f,
                                                   const list_request& r) const {
  auto t = lmdb::txn::begin_read(env_);
  if (!t)
    return t.error();
  list_page<event_record> page;
  if (f.run) {
    // One run's events are few: read them all, newest first.
    auto state = t->get(db_.runs, f.run->value);
    if (!state)
      return state.error();
    std::vector<event_record> of_run;
    for (auto seq : *state ? run_event_seqs(**state) : std::vector<std::uint64_t>{}) {
      auto e = event_at(*t, db_, seq);
      if (!e)
        return e.error();
      if (*e && matches(f, **e) && (!r.after || lists_before(*r.after, position_of(**e))))
        of_run.push_back(std::move(**e));
    }
    std::sort(of_run.begin(), of_run.end(), [](const event_record& a, const event_record& b) {
      return lists_before(position_of(a), position_of(b));
    });
    bool more = of_run.size() > r.limit;
    of_run.resize(std::min(of_run.size(), r.limit));
    page.items = std::move(of_run);
    set_next(page, more, {}, r.limit);
    return page;
  }
  auto c = lmdb::cursor::open(*t, db_.lists);
  if (!c)
    return c.error();
  list_index::walk_bounds bounds{r.after, ms_of(f.created_after), ms_of(f.created_before),
                                 r.budget};
  auto walk = list_index::plan_event_walk(f.status, f.endpoint);
  using found = result<std::optional<event_record>>;
  return page_over<event_record>(
      *c, walk.prefix, bounds, r.limit, [&](const list_position&, std::string_view value) -> found {
        auto entry = list_index::decode_event_entry(value);
        if (!entry)
          return make_error_code(errc::corrupted);
        if ((f.type && entry->type != *f.type) ||
            (walk.endpoint_mark && entry->endpoint_mark != *walk.endpoint_mark))
          return std::optional<event_record>{};
        auto e = event_at(*t, db_, entry->seq);
        if (e && !*e)
          return make_error_code(errc::corrupted); // indexed but absent
        // What the entry cannot tell: the status of an unindexed one, the whole endpoint key.
        if (e && ((walk.record_status && (*e)->delivery.status != *walk.record_status) ||
                  (f.endpoint && (*e)->endpoint != *f.endpoint)))
          return std::optional<event_record>{};
        return e;
      });
}

namespace {

/// One endpoint's health from its URL and figures, inside `t`: its recovery job, and the
/// earliest due time: of its first attempts (`first_due`), or in the pending index (a seek
/// with `pending`, a cursor over that table).
result<endpoint_health> health_of(const lmdb::txn& t, MDB_dbi lists, lmdb::cursor& pending,
                                  std::optional<time_point> first_due, std::string key,
                                  std::string url, endpoint_stats figures) {
  endpoint_health h;
  h.stats = std::move(figures);
  h.url = std::move(url);
  auto job = list_index::job(t, lists, key);
  if (!job)
    return job.error();
  if (*job)
    h.recovery_remaining = (*job)->remaining;
  auto prefix = key + '/';
  h.next_attempt_at = first_due;
  if (pending.seek(prefix) && pending.key().starts_with(prefix)) {
    auto due = from_unix_ms(
        static_cast<std::int64_t>(read_big_endian(pending.key().substr(prefix.size()))));
    h.next_attempt_at = std::min(first_due.value_or(due), due);
  }
  h.key = std::move(key);
  return h;
}

} // namespace

result<std::optional<endpoint_stats>> store::endpoint_figures(std::string_view key) const {
  auto t = lmdb::txn::begin_read(env_);
  if (!t)
    return t.error();
  return list_index::stats(*t, db_.lists, key);
}

result<std::optional<endpoint_health>> store::endpoint(std::string_view key) const {
  auto t = lmdb::txn::begin_read(env_);
  if (!t)
    return t.error();
  auto figures = list_index::stats(*t, db_.lists, key);
  if (!figures)
    return figures.error();
  if (!*figures)
    return std::optional<endpoint_health>{};
  auto url = t->get(db_.endpoints, key);
  if (!url)
    return url.error();
  auto pending = lmdb::cursor::open(*t, db_.pending);
  if (!pending)
    return pending.error();
  auto first_due = first_attempt_due(*t, key);
  if (!first_due)
    return first_due.error();
  auto h = health_of(*t, db_.lists, *pending, *first_due, std::string(key), url->value_or(""),
                     std::move(**figures));
  if (!h)
    return h.error();
  return std::optional<endpoint_health>{std::move(*h)};
}

result<list_page<endpoint_health>> store::list_endpoints(std::optional<endpoint_rank> only,
                                                         const list_request& r) const {
  // One transaction for the walk and the page's figures: each item is as the index ranks it.
  auto t = lmdb::txn::begin_read(env_);
  if (!t)
    return t.error();
  auto walked = endpoint_index::walk(*t, db_.lists, only, r.after, r.limit);
  if (!walked)
    return walked.error();
  auto pending = lmdb::cursor::open(*t, db_.pending);
  if (!pending)
    return pending.error();
  list_page<endpoint_health> page;
  page.items.reserve(walked->entries.size());
  for (auto& e : walked->entries) {
    auto figures = list_index::stats(*t, db_.lists, e.endpoint);
    if (!figures)
      return figures.error();
    if (!*figures)
      return make_error_code(errc::corrupted); // indexed but absent
    auto first_due = first_attempt_due(*t, e.endpoint);
    if (!first_due)
      return first_due.error();
    auto h = health_of(*t, db_.lists, *pending, *first_due, std::move(e.endpoint), std::move(e.url),
                       std::move(**figures));
    if (!h)
      return h.error();
    page.items.push_back(std::move(*h));
  }
  if (walked->more && !page.items.empty())
    page.next = endpoint_position(walked->entries.back().rank, page.items.back().url);
  return page;
}

result<std::vector<std::pair<list_position, event_record>>>
store::failed_events(std::string_view endpoint, std::int64_t since_ms,
                     const std::optional<list_position>& from, std::size_t limit) const {
  auto t = lmdb::txn::begin_read(env_);
  if (!t)
    return t.error();
  auto c = lmdb::cursor::open(*t, db_.lists);
  if (!c)
    return c.error();
  std::vector<std::pair<list_position, event_record>> out;
  boost::system::error_code failure;
  list_index::walk_oldest_first(
      *c, list_index::plan_event_walk(delivery_status::failed, std::string(endpoint)).prefix,
      since_ms, from, [&](const list_position& at, std::string_view value) {
        auto entry = list_index::decode_event_entry(value);
        auto e = entry ? event_at(*t, db_, entry->seq)
                       : result<std::optional<event_record>>{make_error_code(errc::corrupted)};
        if (!e || !*e) {
          failure = e ? make_error_code(errc::corrupted) : e.error();
          return false;
        }
        out.emplace_back(at, std::move(**e));
        return out.size() < limit;
      });
  if (failure)
    return failure;
  return out;
}

result<std::optional<recovery_job>> store::recovery(std::string_view endpoint) const {
  auto t = lmdb::txn::begin_read(env_);
  if (!t)
    return t.error();
  return list_index::job(*t, db_.lists, endpoint);
}

result<std::vector<std::string>> store::endpoints_recovering() const {
  auto t = lmdb::txn::begin_read(env_);
  if (!t)
    return t.error();
  return list_index::endpoints_recovering(*t, db_.lists);
}

result<bool> store::recovering(std::string_view endpoint, std::uint64_t seq) const {
  auto t = lmdb::txn::begin_read(env_);
  if (!t)
    return {boost::system::in_place_error, t.error()};
  return list_index::is_recovering(*t, db_.lists, endpoint, seq);
}

} // namespace rundun::persistence
