#include "persistence/lmdb.hpp"

#include <system_error>

namespace rundun::persistence::lmdb {

namespace {

MDB_val as_val(std::string_view s) {
  return {s.size(), const_cast<char*>(s.data())};
}

} // namespace

result<env> env::open(const std::filesystem::path& dir, std::size_t map_size, int max_dbs) {
  std::error_code fs_ec;
  std::filesystem::create_directories(dir, fs_ec);
  if (fs_ec)
    return boost::system::error_code{fs_ec.value(), boost::system::system_category()};
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, fs_ec);
  MDB_env* h = nullptr;
  if (int rc = mdb_env_create(&h); rc != 0)
    return from_mdb(rc);
  env e{h};
  if (int rc = mdb_env_set_mapsize(h, map_size); rc != 0)
    return from_mdb(rc);
  if (int rc = mdb_env_set_maxdbs(h, max_dbs); rc != 0)
    return from_mdb(rc);
  // Readers may run on any thread (HTTP threads, actors); NOTLS keeps reader slots per txn.
  if (int rc = mdb_env_set_maxreaders(h, 512); rc != 0)
    return from_mdb(rc);
  if (int rc = mdb_env_open(h, dir.c_str(), MDB_NOTLS, 0600); rc != 0) {
    if (rc == ENOENT || rc == EACCES || rc == ENOSPC)
      return boost::system::error_code{rc, boost::system::system_category()};
    return from_mdb(rc);
  }
  return e;
}

env::~env() {
  if (handle_)
    mdb_env_close(handle_);
}

result<txn> txn::begin(const env& e, unsigned flags, MDB_txn* parent) {
  MDB_txn* h = nullptr;
  if (int rc = mdb_txn_begin(e.handle(), parent, flags, &h); rc != 0)
    return from_mdb(rc);
  return txn{h};
}

txn::~txn() {
  abort();
}

boost::system::error_code txn::commit() {
  int rc = mdb_txn_commit(std::exchange(handle_, nullptr));
  return rc == 0 ? boost::system::error_code{} : from_mdb(rc);
}

void txn::abort() {
  if (handle_)
    mdb_txn_abort(std::exchange(handle_, nullptr));
}

result<std::optional<std::string>> txn::get(MDB_dbi db, std::string_view key) const {
  MDB_val k = as_val(key);
  MDB_val v{};
  int rc = mdb_get(handle_, db, &k, &v);
  if (rc == MDB_NOTFOUND)
    return std::optional<std::string>{};
  if (rc != 0)
    return from_mdb(rc);
  // Copied out: the map view dies with the transaction.
  return std::optional<std::string>{std::string(static_cast<const char*>(v.mv_data), v.mv_size)};
}

boost::system::error_code txn::put(MDB_dbi db, std::string_view key, std::string_view value) {
  MDB_val k = as_val(key);
  MDB_val v = as_val(value);
  int rc = mdb_put(handle_, db, &k, &v, 0);
  return rc == 0 ? boost::system::error_code{} : from_mdb(rc);
}

boost::system::error_code txn::del(MDB_dbi db, std::string_view key) {
  MDB_val k = as_val(key);
  int rc = mdb_del(handle_, db, &k, nullptr);
  return rc == 0 || rc == MDB_NOTFOUND ? boost::system::error_code{} : from_mdb(rc);
}

result<bool> txn::erase(MDB_dbi db, std::string_view key) {
  MDB_val k = as_val(key);
  int rc = mdb_del(handle_, db, &k, nullptr);
  if (rc == MDB_NOTFOUND)
    return false;
  if (rc != 0)
    // A result<bool> is made from an error explicitly: a bool converts from either.
    return {boost::system::in_place_error, from_mdb(rc)};
  return true;
}

boost::system::error_code txn::clear(MDB_dbi db) {
  int rc = mdb_drop(handle_, db, 0);
  return rc == 0 ? boost::system::error_code{} : from_mdb(rc);
}

result<std::size_t> txn::count(MDB_dbi db) const {
  MDB_stat st{};
  if (int rc = mdb_stat(handle_, db, &st))
    return from_mdb(rc);
  return static_cast<std::size_t>(st.ms_entries);
}

result<cursor> cursor::open(const txn& t, MDB_dbi db) {
  MDB_cursor* h = nullptr;
  if (int rc = mdb_cursor_open(t.handle(), db, &h); rc != 0)
    return from_mdb(rc);
  return cursor{h};
}

cursor::~cursor() {
  if (handle_)
    mdb_cursor_close(handle_);
}

bool cursor::step(MDB_cursor_op op) {
  return mdb_cursor_get(handle_, &k_, &v_, op) == 0;
}

bool cursor::seek(std::string_view key) {
  // LMDB refuses an empty key: the first key is the first one >= "".
  if (key.empty())
    return first();
  k_ = as_val(key);
  return step(MDB_SET_RANGE);
}

bool cursor::first() {
  return step(MDB_FIRST);
}

bool cursor::next() {
  return step(MDB_NEXT);
}

bool cursor::prev() {
  return step(MDB_PREV);
}

bool cursor::last() {
  return step(MDB_LAST);
}

result<MDB_dbi> open_db(const txn& t, const char* name) {
  MDB_dbi db = 0;
  if (int rc = mdb_dbi_open(t.handle(), name, MDB_CREATE, &db); rc != 0)
    return from_mdb(rc);
  return db;
}

} // namespace rundun::persistence::lmdb
