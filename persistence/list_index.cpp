#include "persistence/list_index.hpp"

#include "persistence/big_endian.hpp"

#include <algorithm>

#include <boost/json.hpp>

namespace json = boost::json;

namespace rundun::persistence::list_index {

namespace {

// The kinds of key, their first byte (see the header; `n` is endpoint_index.cpp's).
constexpr char all_runs = 'r', runs_by_status = 's', all_events = 'e', events_by_status = 'f',
               endpoint_events_by_status = 'q', endpoint_figures = 'h', recovering_mark = 'v',
               recovery = 'j';
constexpr char endpoint_end = '/';
/// Characters of an endpoint key kept in entry values: 64 bits of its hash, to skip other
/// endpoints' entries without reading their records (a match is checked on the record).
constexpr std::size_t endpoint_mark_size = 16;

/// The statuses with entries of their own: all but delivered, the common end. A pending
/// entry lives from an event's creation to its delivery, usually a few milliseconds, at the
/// right edge of the tree, on the page that its creation dirtied anyway.
bool indexed(delivery_status s) {
  return s != delivery_status::delivered;
}

std::string when(time_point t) {
  return big_endian(static_cast<std::uint64_t>(std::max<std::int64_t>(0, to_unix_ms(t))));
}

char byte_of(run_status s) {
  return static_cast<char>(s);
}
char byte_of(delivery_status s) {
  return static_cast<char>(s);
}

std::string run_key(std::optional<run_status> status, const run_record& r) {
  return runs_prefix(status) + when(r.created_at) + r.id.value;
}

/// The prefix of every event, of events by (an indexed) status, or of one endpoint's
/// events by status.
std::string event_prefix(std::optional<delivery_status> status, std::string_view endpoint) {
  if (!status)
    return std::string{all_events};
  if (endpoint.empty())
    return std::string{events_by_status, byte_of(*status)};
  std::string p{endpoint_events_by_status};
  p.append(endpoint);
  p += endpoint_end;
  p += byte_of(*status);
  return p;
}

std::string event_key(std::optional<delivery_status> status, std::string_view endpoint,
                      const event_record& e) {
  return event_prefix(status, endpoint) + when(e.created_at) + e.id.value;
}

std::string event_value(const event_record& e) {
  return big_endian(e.seq) + static_cast<char>(e.type) + std::string(endpoint_mark(e.endpoint));
}

std::string mark_key(std::string_view endpoint, std::uint64_t seq) {
  return recovering_mark + std::string(endpoint) + endpoint_end + big_endian(seq);
}

std::string job_key(std::string_view endpoint) {
  return recovery + std::string(endpoint);
}

/// The first key past every key that starts with `prefix`.
std::string prefix_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff)
    end.pop_back();
  if (!end.empty())
    end.back() = static_cast<char>(end.back() + 1);
  return end;
}

boost::system::error_code put_if_absent(lmdb::txn& t, MDB_dbi db, std::string_view key,
                                        std::string_view value) {
  auto old = t.get(db, key);
  if (!old)
    return old.error();
  return *old ? boost::system::error_code{} : t.put(db, key, value);
}

/// An event's entries by status, if its status has them: by status, and, when failed, in
/// its endpoint's part too.
boost::system::error_code put_status_entries(lmdb::txn& t, MDB_dbi db, const event_record& e) {
  auto status = e.delivery.status;
  if (!indexed(status))
    return {};
  auto value = event_value(e);
  RUNDUN_TRY(t.put(db, event_key(status, {}, e), value));
  if (status != delivery_status::failed || e.endpoint.empty())
    return {};
  return t.put(db, event_key(status, e.endpoint, e), value);
}

boost::system::error_code del_status_entries(lmdb::txn& t, MDB_dbi db, const event_record& e) {
  auto status = e.delivery.status;
  if (!indexed(status))
    return {};
  RUNDUN_TRY(t.del(db, event_key(status, {}, e)));
  if (status != delivery_status::failed || e.endpoint.empty())
    return {};
  return t.del(db, event_key(status, e.endpoint, e));
}

std::string encode(const recovery_job& j) {
  json::object o{{"since", j.since_ms}, {"remaining", j.remaining}};
  if (j.marked_up_to)
    o["at"] = json::array{j.marked_up_to->ms, j.marked_up_to->id};
  return json::serialize(o);
}

std::optional<recovery_job> decode_job(std::string_view text) {
  try {
    auto o = json::parse(text).as_object();
    recovery_job j;
    j.since_ms = o.at("since").to_number<std::int64_t>();
    j.remaining = o.at("remaining").to_number<std::uint64_t>();
    if (auto* at = o.if_contains("at")) {
      auto& a = at->as_array();
      j.marked_up_to =
          list_position{a.at(0).to_number<std::int64_t>(), json::value_to<std::string>(a.at(1))};
    }
    return j;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

/// Reads the value at `key` and decodes it; a value that does not decode is corruption.
template <class T, class Decode>
result<std::optional<T>> read(const lmdb::txn& t, MDB_dbi db, const std::string& key,
                              Decode decode) {
  auto text = t.get(db, key);
  if (!text)
    return text.error();
  if (!*text)
    return std::optional<T>{};
  auto v = decode(**text);
  if (!v)
    return make_error_code(errc::corrupted);
  return std::optional<T>{std::move(*v)};
}

} // namespace

std::string figures_key(std::string_view endpoint) {
  return endpoint_figures + std::string(endpoint);
}

std::string runs_prefix(std::optional<run_status> status) {
  return status ? std::string{runs_by_status, byte_of(*status)} : std::string{all_runs};
}

event_walk plan_event_walk(std::optional<delivery_status> status,
                           const std::optional<std::string>& endpoint) {
  std::string_view ep = endpoint ? std::string_view(*endpoint) : std::string_view{};
  event_walk w;
  if (status && *status == delivery_status::failed) {
    w.prefix = event_prefix(status, ep); // failed events have entries per endpoint too
    return w;
  }
  if (status && indexed(*status)) {
    w.prefix = event_prefix(status, {});
    if (endpoint)
      w.endpoint_mark = std::string(endpoint_mark(ep));
    return w;
  }
  w.prefix = event_prefix(std::nullopt, {});
  if (endpoint)
    w.endpoint_mark = std::string(endpoint_mark(ep));
  w.record_status = status;
  return w;
}

std::string_view endpoint_mark(std::string_view endpoint_key) {
  return endpoint_key.substr(0, endpoint_mark_size);
}

std::optional<event_entry> decode_event_entry(std::string_view value) {
  if (value.size() < 9 || static_cast<unsigned char>(value[8]) >= all_event_types.size())
    return std::nullopt;
  return event_entry{read_big_endian(value), static_cast<event_type>(value[8]), value.substr(9)};
}

boost::system::error_code put_run(lmdb::txn& t, MDB_dbi db, const run_record& r) {
  auto tmpl = r.source_template.value;
  // A command rewrites an active run often; its entries are only read, not written, then.
  RUNDUN_TRY(put_if_absent(t, db, run_key(std::nullopt, r), tmpl));
  if (r.active())
    return put_if_absent(t, db, run_key(r.status, r), tmpl);
  RUNDUN_TRY(t.del(db, run_key(run_status::active, r)));
  return put_if_absent(t, db, run_key(r.status, r), tmpl);
}

boost::system::error_code remove_run(lmdb::txn& t, MDB_dbi db, const run_record& r) {
  RUNDUN_TRY(t.del(db, run_key(std::nullopt, r)));
  return t.del(db, run_key(r.status, r));
}

boost::system::error_code change_event(lmdb::txn& t, const endpoint_index::tables& tables,
                                       figures_cache& figures, const event_record* before,
                                       const event_record* after, std::string_view endpoint_url) {
  if (!before && !after)
    return {};
  auto db = tables.lists;
  if (!before) {
    RUNDUN_TRY(t.put(db, event_key(std::nullopt, {}, *after), event_value(*after)));
    RUNDUN_TRY(put_status_entries(t, db, *after));
  } else if (!after) {
    RUNDUN_TRY(t.del(db, event_key(std::nullopt, {}, *before)));
    RUNDUN_TRY(del_status_entries(t, db, *before));
  } else if (before->delivery.status != after->delivery.status) {
    // Only the entries by status move; the others never change.
    RUNDUN_TRY(del_status_entries(t, db, *before));
    RUNDUN_TRY(put_status_entries(t, db, *after));
  }
  auto& e = after ? *after : *before;
  if (e.endpoint.empty())
    return {};
  auto cached = figures.at(t, db, e.endpoint);
  if (!cached)
    return cached.error();
  if (!endpoint_url.empty())
    figures.note_url(e.endpoint, endpoint_url);
  auto s = (*cached)->value_or(endpoint_stats{});
  account(s, before, after);
  // A new attempt, or the event's removal, ends a recovery's mark on it; so does its leaving
  // `pending` without an attempt (failed because its run's webhook answered 410 meanwhile):
  // a mark left behind would count as a recovery still running (409 recovery_in_progress).
  // Only an endpoint with a recovery running has marks to look for.
  bool mark_ends = s.recovering > 0 && before &&
                   (!after || after->delivery.attempts.size() > before->delivery.attempts.size() ||
                    (before->delivery.status == delivery_status::pending &&
                     after->delivery.status != delivery_status::pending));
  if (mark_ends) {
    auto mark = mark_key(e.endpoint, e.seq);
    auto marked = t.get(db, mark);
    if (!marked)
      return marked.error();
    if (*marked) {
      RUNDUN_TRY(t.del(db, mark));
      s.recovering -= std::min<std::uint64_t>(s.recovering, 1);
    }
  }
  // Every event with an endpoint is counted as pending, delivered or failed: none counted
  // after a removal is none left (retention removed the last run that had one). A disabled
  // endpoint keeps its figures, and so stays disabled (and listed) until it is recovered.
  bool none_left = !after && s.pending + s.delivered + s.failed == 0 && !s.disabled_at;
  if (none_left) {
    figures.keep_owed(e.endpoint, std::move(s.owed));
    (*cached)->reset();
  } else
    **cached = s;
  return {};
}

boost::system::error_code mark_recovering(lmdb::txn& t, MDB_dbi db, figures_cache& figures,
                                          std::string_view endpoint, std::uint64_t seq) {
  auto mark = mark_key(endpoint, seq);
  auto marked = t.get(db, mark);
  if (!marked)
    return marked.error();
  if (*marked)
    return {};
  RUNDUN_TRY(t.put(db, mark, {}));
  auto cached = figures.at(t, db, endpoint);
  if (!cached)
    return cached.error();
  auto s = (*cached)->value_or(endpoint_stats{});
  ++s.recovering;
  **cached = s;
  return {};
}

boost::system::error_code remove_stats(lmdb::txn& t, MDB_dbi db, std::string_view endpoint) {
  return t.del(db, figures_key(endpoint));
}

boost::system::error_code put_job(lmdb::txn& t, MDB_dbi db, std::string_view endpoint,
                                  const recovery_job& j) {
  return t.put(db, job_key(endpoint), encode(j));
}

boost::system::error_code remove_job(lmdb::txn& t, MDB_dbi db, std::string_view endpoint) {
  return t.del(db, job_key(endpoint));
}

result<bool> is_recovering(const lmdb::txn& t, MDB_dbi db, std::string_view endpoint,
                           std::uint64_t seq) {
  auto v = t.get(db, mark_key(endpoint, seq));
  if (!v)
    return {boost::system::in_place_error, v.error()};
  return v->has_value();
}

result<std::optional<endpoint_stats>> stats(const lmdb::txn& t, MDB_dbi db,
                                            std::string_view endpoint) {
  return read<endpoint_stats>(t, db, figures_key(endpoint), decode_endpoint_stats);
}

result<std::optional<recovery_job>> job(const lmdb::txn& t, MDB_dbi db, std::string_view endpoint) {
  return read<recovery_job>(t, db, job_key(endpoint), decode_job);
}

result<std::vector<std::pair<std::string, endpoint_stats>>> all_stats(const lmdb::txn& t,
                                                                      MDB_dbi db) {
  std::vector<std::pair<std::string, endpoint_stats>> out;
  auto c = lmdb::cursor::open(t, db);
  if (!c)
    return c.error();
  std::string prefix{endpoint_figures};
  for (bool ok = c->seek(prefix); ok && c->key().starts_with(prefix); ok = c->next()) {
    auto s = decode_endpoint_stats(c->value());
    if (!s)
      return make_error_code(errc::corrupted);
    out.emplace_back(std::string(c->key().substr(1)), std::move(*s));
  }
  return out;
}

result<std::vector<std::string>> endpoints_recovering(const lmdb::txn& t, MDB_dbi db) {
  std::vector<std::string> out;
  auto c = lmdb::cursor::open(t, db);
  if (!c)
    return c.error();
  std::string prefix{recovery};
  for (bool ok = c->seek(prefix); ok && c->key().starts_with(prefix); ok = c->next())
    out.emplace_back(c->key().substr(1));
  return out;
}

walk_end walk_newest_first(lmdb::cursor& c, std::string_view prefix, const walk_bounds& b,
                           const visitor& visit) {
  // Start below the smallest upper bound: the prefix's end, the `before` time, the position.
  auto upper = prefix_end(prefix);
  auto lower_to = [&](std::string k) {
    if (k < upper)
      upper = std::move(k);
  };
  if (b.before_ms)
    lower_to(std::string(prefix) + big_endian(std::max<std::int64_t>(0, *b.before_ms)));
  if (b.from)
    lower_to(std::string(prefix) + big_endian(std::max<std::int64_t>(0, b.from->ms)) + b.from->id);
  walk_end out;
  std::size_t seen = 0;
  for (bool ok = c.seek(upper) ? c.prev() : c.last(); ok; ok = c.prev()) {
    auto k = c.key();
    if (!k.starts_with(prefix) || k.size() < prefix.size() + 8)
      break;
    auto ms = static_cast<std::int64_t>(read_big_endian(k.substr(prefix.size())));
    if (b.after_ms && ms <= *b.after_ms)
      break;
    if (seen++ == b.budget) {
      out.budget_spent = true;
      break;
    }
    out.last_seen = list_position{ms, std::string(k.substr(prefix.size() + 8))};
    if (!visit(*out.last_seen, c.value()))
      break;
  }
  return out;
}

void walk_oldest_first(lmdb::cursor& c, std::string_view prefix, std::int64_t since_ms,
                       const std::optional<list_position>& from, const visitor& visit) {
  auto lower = std::string(prefix) + big_endian(std::max<std::int64_t>(0, since_ms));
  if (from) {
    // Strictly past the position: its key followed by the smallest byte.
    auto past = std::string(prefix) + big_endian(std::max<std::int64_t>(0, from->ms)) + from->id;
    past.push_back('\0');
    lower = std::max(lower, past);
  }
  for (bool ok = c.seek(lower); ok; ok = c.next()) {
    auto k = c.key();
    if (!k.starts_with(prefix) || k.size() < prefix.size() + 8)
      break;
    list_position at{static_cast<std::int64_t>(read_big_endian(k.substr(prefix.size()))),
                     std::string(k.substr(prefix.size() + 8))};
    if (!visit(at, c.value()))
      break;
  }
}

} // namespace rundun::persistence::list_index
