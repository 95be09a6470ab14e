#pragma once

#include "persistence/error.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <lmdb.h>

/// Fails the enclosing function with the error of a step that returns an error code: for
/// the sequences of LMDB writes in the store and its indexes. One statement (do-while), so
/// that an `else` after it binds to the caller's `if`, not to the macro's.
#define RUNDUN_TRY(expr)                                                                           \
  do {                                                                                             \
    if (auto ec_ = (expr))                                                                         \
      return ec_;                                                                                  \
  } while (false)

namespace rundun::persistence::lmdb {

/// An LMDB environment, closed in its destructor. Thread-safe, shared by readers and the
/// one writer. Read transactions use `MDB_NOTLS`, so any thread may run them.
class env {
public:
  /// Opens (and creates) the environment in `dir` with room for `max_dbs` named databases.
  /// `map_size` only reserves address space; the file grows as data is written.
  static result<env> open(const std::filesystem::path& dir, std::size_t map_size, int max_dbs);

  env(env&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  env& operator=(env&&) = delete;
  env(const env&) = delete;
  ~env();

  MDB_env* handle() const { return handle_; }

private:
  explicit env(MDB_env* h) : handle_(h) {}
  MDB_env* handle_;
};

/// A transaction. It aborts in its destructor unless committed. A write transaction belongs
/// to the thread that began it; a read transaction may be used on any one thread at a time.
class txn {
public:
  static result<txn> begin(const env& e, unsigned flags, MDB_txn* parent = nullptr);
  static result<txn> begin_read(const env& e) { return begin(e, MDB_RDONLY); }

  txn(txn&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  txn& operator=(txn&&) = delete;
  txn(const txn&) = delete;
  ~txn();

  /// Commits; the handle is gone afterwards whatever the outcome.
  boost::system::error_code commit();
  void abort();

  MDB_txn* handle() const { return handle_; }

  /// The value at `key`, copied out of the map; `std::nullopt` if absent.
  result<std::optional<std::string>> get(MDB_dbi db, std::string_view key) const;
  boost::system::error_code put(MDB_dbi db, std::string_view key, std::string_view value);
  /// Deletes `key`; deleting an absent key is not an error.
  boost::system::error_code del(MDB_dbi db, std::string_view key);
  /// Deletes `key`, and says whether it was there.
  result<bool> erase(MDB_dbi db, std::string_view key);
  /// Deletes every entry of `db` (the table stays).
  boost::system::error_code clear(MDB_dbi db);
  /// The number of entries in `db`, from its header: constant time.
  result<std::size_t> count(MDB_dbi db) const;

private:
  explicit txn(MDB_txn* h) : handle_(h) {}
  MDB_txn* handle_;
};

/// A cursor over one database inside one transaction; closed in its destructor.
class cursor {
public:
  static result<cursor> open(const txn& t, MDB_dbi db);

  cursor(cursor&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  cursor(const cursor&) = delete;
  ~cursor();

  /// Positions at the first key >= `key`. Returns false when there is none.
  bool seek(std::string_view key);
  /// Positions at the first key. Returns false when the database is empty.
  bool first();
  /// Moves to the next key. Returns false past the end.
  bool next();
  /// Moves to the previous key. Returns false before the start.
  bool prev();
  /// Moves to the last key. Returns false when the database is empty.
  bool last();

  /// The current key and value: views into the map, valid until the transaction ends.
  std::string_view key() const { return {static_cast<const char*>(k_.mv_data), k_.mv_size}; }
  std::string_view value() const { return {static_cast<const char*>(v_.mv_data), v_.mv_size}; }

private:
  explicit cursor(MDB_cursor* h) : handle_(h) {}
  bool step(MDB_cursor_op op);
  MDB_cursor* handle_;
  MDB_val k_{};
  MDB_val v_{};
};

/// Opens (creating) the named database inside a write transaction.
result<MDB_dbi> open_db(const txn& t, const char* name);

} // namespace rundun::persistence::lmdb
