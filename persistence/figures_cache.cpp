// list_index::figures_cache: the endpoints' figures of one write transaction, read once and
// written once (see list_index.hpp).

#include "persistence/endpoint_stats.hpp"
#include "persistence/list_index.hpp"

namespace rundun::persistence::list_index {

result<std::optional<endpoint_stats>*> figures_cache::at(const lmdb::txn& t, MDB_dbi lists,
                                                         std::string_view endpoint) {
  auto it = entries_.find(std::string(endpoint));
  if (it == entries_.end()) {
    auto text = t.get(lists, figures_key(endpoint));
    if (!text)
      return text.error();
    std::optional<endpoint_stats> stored;
    if (*text) {
      stored = decode_endpoint_stats(**text);
      if (!stored)
        return make_error_code(errc::corrupted);
    }
    it = entries_.emplace(std::string(endpoint), entry{stored, stored, {}}).first;
  }
  return &it->second.now;
}

void figures_cache::note_url(std::string_view endpoint, std::string_view url) {
  if (auto it = entries_.find(std::string(endpoint));
      it != entries_.end() && it->second.url.empty())
    it->second.url = url;
}

boost::system::error_code figures_cache::flush(lmdb::txn& t, const endpoint_index::tables& db) {
  for (auto& [endpoint, e] : entries_) {
    if (e.now) {
      for (auto& n : e.now->owed)
        owed_.emplace_back(endpoint, std::move(n));
      e.now->owed.clear();
    }
    RUNDUN_TRY(endpoint_index::follow(t, db, endpoint, e.stored, e.now, e.url));
    if (e.now)
      RUNDUN_TRY(t.put(db.lists, figures_key(endpoint), encode(*e.now)));
    else if (e.stored)
      RUNDUN_TRY(t.del(db.lists, figures_key(endpoint)));
  }
  entries_.clear();
  return {};
}

} // namespace rundun::persistence::list_index
