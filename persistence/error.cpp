#include "persistence/error.hpp"

#include <cerrno>
#include <lmdb.h>

namespace rundun::persistence {

namespace {

class category_impl : public boost::system::error_category {
public:
  const char* name() const noexcept override { return "rundun.persistence"; }

  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
    case errc::map_full:
      return "the LMDB map is full: restart with a larger map size or free space";
    case errc::io_error:
      return "the disk failed a read or write (I/O error)";
    case errc::disk_full:
      return "the disk holding the data dir is full (no space left on device): free space; "
             "writes resume by themselves";
    case errc::panic:
      return "the store failed fatally: a commit's final write failed (the disk failed or went "
             "read-only mid-commit); restart rundund (nothing acknowledged is lost)";
    case errc::read_only:
      return "the data file cannot be written (read-only file system or not permitted): make "
             "it writable; writes resume by themselves";
    case errc::corrupted:
      return "a stored record does not decode";
    case errc::lmdb_error:
      return "LMDB failed";
    case errc::closed:
      return "the store is shutting down";
    case errc::unsupported_format:
      return "the data directory was written by another version of rundund in a storage format "
             "this version does not read: a newer rundund wrote it, or it is not a rundund data "
             "dir";
    }
    return "unknown persistence error";
  }
};

} // namespace

const boost::system::error_category& category() {
  static const category_impl instance;
  return instance;
}

boost::system::error_code make_error_code(errc e) {
  return {static_cast<int>(e), category()};
}

boost::system::error_code from_mdb(int rc) {
  switch (rc) {
  case MDB_MAP_FULL:
    return errc::map_full;
  case ENOSPC:
  case EDQUOT:
    return errc::disk_full;
  case EROFS:
  case EPERM:
  case EACCES:
    return errc::read_only;
  case EIO:
    return errc::io_error;
  case MDB_PANIC:
    return errc::panic;
  case MDB_CORRUPTED:
  case MDB_PAGE_NOTFOUND:
    return errc::corrupted;
  default:
    return errc::lmdb_error;
  }
}

std::string mdb_message(int rc) {
  return mdb_strerror(rc);
}

} // namespace rundun::persistence
