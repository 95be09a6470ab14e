#include "persistence/endpoint_index.hpp"

#include <algorithm>
#include <tuple>

namespace rundun::persistence::endpoint_index {

namespace {

/// The first byte of every entry (see persistence/list_index.hpp for the others').
constexpr char endpoint_entries = 'n';
/// Ends the URL in a key: below every byte a URL may hold.
constexpr char url_end = '\0';
/// Bytes before the URL in a key: the kind and the rank.
constexpr std::size_t head_bytes = 2;
/// The largest rank a position may name (one byte).
constexpr std::int64_t max_rank = 0xff;

std::string rank_prefix(std::int64_t rank) {
  return {endpoint_entries, static_cast<char>(rank)};
}

/// The URL row of `endpoint`, or `url` when the caller knows it.
result<std::string> url_of(const lmdb::txn& t, MDB_dbi urls, std::string_view endpoint,
                           std::string_view url) {
  if (!url.empty())
    return std::string(url);
  auto stored = t.get(urls, endpoint);
  if (!stored)
    return stored.error();
  // An endpoint with events always has its URL row; without one it is listed with none, as
  // its health would show it.
  return stored->value_or(std::string{});
}

/// The order of the list: by rank, then by the whole URL (the endpoint key only breaks the
/// tie of a URL stored twice, which a key made from the URL rules out).
bool listed_before(const entry& a, const entry& b) {
  return std::tie(a.rank, a.url, a.endpoint) < std::tie(b.rank, b.url, b.endpoint);
}

} // namespace

std::string entry_key(endpoint_rank rank, std::string_view url, std::string_view endpoint) {
  auto key = rank_prefix(static_cast<std::int64_t>(rank));
  key.append(url.substr(0, indexed_url_bytes));
  key += url_end;
  key.append(endpoint);
  return key;
}

boost::system::error_code follow(lmdb::txn& t, const tables& db, std::string_view endpoint,
                                 const std::optional<endpoint_stats>& before,
                                 const std::optional<endpoint_stats>& after, std::string_view url) {
  std::optional<endpoint_rank> was, now;
  if (before)
    was = rank_of(*before);
  if (after)
    now = rank_of(*after);
  if (was == now)
    return {};
  // The URL row is written once, when the endpoint gets its first event: not per event.
  if (!before && !url.empty())
    RUNDUN_TRY(t.put(db.urls, endpoint, url));
  auto known = url_of(t, db.urls, endpoint, url);
  if (!known)
    return known.error();
  if (was)
    RUNDUN_TRY(t.del(db.lists, entry_key(*was, *known, endpoint)));
  if (now)
    return t.put(db.lists, entry_key(*now, *known, endpoint), *known);
  return t.del(db.urls, endpoint);
}

result<walk_result> walk(const lmdb::txn& t, MDB_dbi lists, std::optional<endpoint_rank> only,
                         const std::optional<list_position>& after, std::size_t limit) {
  walk_result out;
  auto prefix =
      only ? rank_prefix(static_cast<std::int64_t>(*only)) : std::string{endpoint_entries};
  auto start = prefix;
  // Where the page starts: past (rank, URL). A position of an earlier rank than `only`
  // starts at its beginning; one of a later rank has nothing past it.
  std::optional<std::pair<std::int64_t, std::string_view>> past;
  if (after) {
    auto rank = std::clamp<std::int64_t>(after->ms, 0, max_rank);
    if (only && rank > static_cast<std::int64_t>(*only))
      return out;
    if (!only || rank == static_cast<std::int64_t>(*only)) {
      start = rank_prefix(rank) + after->id.substr(0, indexed_url_bytes);
      past.emplace(rank, after->id);
    }
  }
  auto is_past = [&](const entry& e) {
    return !past ||
           std::make_pair(static_cast<std::int64_t>(e.rank), std::string_view(e.url)) > *past;
  };
  // Entries whose keys agree up to the URL's end (a URL cut at indexed_url_bytes) are read
  // as one group and put in URL order before they are taken.
  std::vector<entry> group;
  std::string group_head;
  auto take_group = [&] {
    std::sort(group.begin(), group.end(), listed_before);
    for (auto& e : group) {
      if (!is_past(e))
        continue;
      if (out.entries.size() == limit) {
        out.more = true;
        return false;
      }
      out.entries.push_back(std::move(e));
    }
    group.clear();
    return true;
  };
  auto c = lmdb::cursor::open(t, lists);
  if (!c)
    return c.error();
  for (bool ok = c->seek(start); ok && c->key().starts_with(prefix); ok = c->next()) {
    auto k = c->key();
    auto cut = k.size() < head_bytes ? k.npos : k.find(url_end, head_bytes);
    if (cut == k.npos)
      return make_error_code(errc::corrupted);
    if (k.substr(0, cut) != group_head) {
      if (!take_group())
        return out;
      group_head = k.substr(0, cut);
    }
    group.push_back({static_cast<endpoint_rank>(k[1]), std::string(c->value()),
                     std::string(k.substr(cut + 1))});
  }
  take_group();
  return out;
}

} // namespace rundun::persistence::endpoint_index
