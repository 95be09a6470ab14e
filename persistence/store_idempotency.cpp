// The `idempotency` table (contract §4): used keys with what they created, and the
// `idempotency_expiry` index that retention walks to remove them once their window passed.
// An index key is the record's creation time (big-endian milliseconds) and then the key, so
// that the oldest come first.

#include "persistence/store.hpp"

#include <algorithm>
#include <vector>

namespace rundun::persistence {

namespace {

std::string expiry_key(const idempotency_record& r) {
  auto ms = std::max<std::int64_t>(0, to_unix_ms(r.created_at));
  return big_endian(static_cast<std::uint64_t>(ms)) + r.key;
}

constexpr std::size_t expiry_time_bytes = 8;

} // namespace

result<std::optional<time_point>> store::oldest_idempotency_key() const {
  auto t = lmdb::txn::begin_read(env_);
  if (!t)
    return t.error();
  auto c = lmdb::cursor::open(*t, db_.idempotency_expiry);
  if (!c)
    return c.error();
  if (!c->first() || c->key().size() < expiry_time_bytes)
    return std::optional<time_point>{};
  auto ms = read_big_endian(c->key().substr(0, expiry_time_bytes));
  return std::optional<time_point>{from_unix_ms(static_cast<std::int64_t>(ms))};
}

boost::system::error_code write_batch::put_idempotency_key(const idempotency_record& r) {
  // A key used again after its window replaces the old record: its index entry goes too.
  auto old = txn_.get(store_.db_.idempotency, r.key);
  if (!old)
    return old.error();
  if (*old)
    if (auto before = decode_idempotency(r.key, **old))
      RUNDUN_TRY(txn_.del(store_.db_.idempotency_expiry, expiry_key(*before)));
  RUNDUN_TRY(txn_.put(store_.db_.idempotency, r.key, encode_value(r)));
  return txn_.put(store_.db_.idempotency_expiry, expiry_key(r), {});
}

boost::system::error_code write_batch::expire_idempotency_keys(time_point before, std::size_t limit,
                                                               std::size_t& removed) {
  removed = 0;
  auto until =
      big_endian(static_cast<std::uint64_t>(std::max<std::int64_t>(0, to_unix_ms(before))));
  std::vector<std::string> due;
  {
    auto c = lmdb::cursor::open(txn_, store_.db_.idempotency_expiry);
    if (!c)
      return c.error();
    for (bool more = c->first(); more && due.size() < limit; more = c->next()) {
      if (c->key().substr(0, expiry_time_bytes) >= until)
        break;
      due.emplace_back(c->key());
    }
  }
  for (auto& entry : due) {
    RUNDUN_TRY(txn_.del(store_.db_.idempotency_expiry, entry));
    RUNDUN_TRY(txn_.del(store_.db_.idempotency, std::string_view(entry).substr(expiry_time_bytes)));
    ++removed;
  }
  return {};
}

} // namespace rundun::persistence
