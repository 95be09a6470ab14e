// The `notices` table: the operator's notices (contract §7) from the commit that made them
// until they are delivered or failed. Keyed by due time, then sequence number (8 bytes
// each, big-endian), so that the notifier reads the earliest due first however many wait;
// it holds only what is still to deliver, a handful in practice.

#include "persistence/store.hpp"

#include "persistence/ids.hpp"
#include "persistence/list_index.hpp"

#include <algorithm>

namespace rundun::persistence {

namespace {

std::string notice_key(const operator_notice& n) {
  auto due = std::max<std::int64_t>(0, to_unix_ms(n.due));
  return big_endian(static_cast<std::uint64_t>(due)) + big_endian(n.seq);
}

} // namespace

boost::system::error_code store::store_notices(lmdb::txn& t, list_index::figures_cache& figures,
                                               std::vector<operator_notice>& made) {
  auto owed = figures.take_owed();
  if (!notices_.make)
    return {};
  for (auto& [endpoint, n] : owed) {
    // No notices about the operator's own endpoint.
    if (endpoint == notices_.operator_endpoint)
      continue;
    auto url = t.get(db_.endpoints, endpoint);
    if (!url)
      return url.error();
    auto notice = make_notice(n, url->value_or(endpoint), next_seq(), "evt-" + make_uuid_v7());
    if (notices_.keep)
      RUNDUN_TRY(t.put(db_.notices, notice_key(notice), encode(notice)));
    made.push_back(std::move(notice));
  }
  return {};
}

result<std::vector<operator_notice>> store::pending_notices(std::size_t limit) const {
  auto t = lmdb::txn::begin_read(env_);
  if (!t)
    return t.error();
  auto c = lmdb::cursor::open(*t, db_.notices);
  if (!c)
    return c.error();
  std::vector<operator_notice> out;
  for (bool more = c->first(); more && out.size() < limit; more = c->next()) {
    auto n = decode_notice(c->value());
    if (!n)
      return make_error_code(errc::corrupted);
    out.push_back(std::move(*n));
  }
  return out;
}

boost::system::error_code write_batch::put_notice(const operator_notice& before,
                                                  const std::optional<operator_notice>& after) {
  RUNDUN_TRY(txn_.del(store_.db_.notices, notice_key(before)));
  return after ? txn_.put(store_.db_.notices, notice_key(*after), encode(*after))
               : boost::system::error_code{};
}

} // namespace rundun::persistence
