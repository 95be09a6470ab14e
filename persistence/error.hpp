#pragma once

#include <string>
#include <system_error>

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

namespace rundun::persistence {

/// Failures of the store, in the error category `"rundun.persistence"`.
enum class errc {
  map_full = 1,       ///< the LMDB map is full: raise --map-size or free disk
  io_error,           ///< the disk refused a read or write (disk full, I/O error)
  corrupted,          ///< a stored value does not decode
  lmdb_error,         ///< any other LMDB failure; the message carries LMDB's text
  closed,             ///< the store is shutting down and takes no more writes
  unsupported_format, ///< the data was written in a storage layout this version does not read
  disk_full,          ///< the file system holding the data dir has no space (ENOSPC, EDQUOT)
  read_only,          ///< the data file cannot be written (read-only file system, EPERM)
  panic,              ///< LMDB's environment is unusable after a failed meta-page write
};

const boost::system::error_category& category();

boost::system::error_code make_error_code(errc e);

/// An error code for an LMDB return code, keeping LMDB's own text for the unusual ones.
boost::system::error_code from_mdb(int rc);

/// A human sentence for an LMDB return code.
std::string mdb_message(int rc);

template <class T>
using result = boost::system::result<T>;

} // namespace rundun::persistence

template <>
struct boost::system::is_error_code_enum<rundun::persistence::errc> : std::true_type {};
