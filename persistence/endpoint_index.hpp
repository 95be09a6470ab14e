#pragma once

// The index behind `GET /v1/endpoints` (contract §8): one entry per endpoint with events,
// ordered as the list is, so that a page reads about `limit` entries whatever the number of
// endpoints. It lives in the `lists` table beside the figures (persistence/list_index.hpp),
// and with them it is the endpoint's rows:
//
//   n <rank> <URL, at most indexed_url_bytes> \0 <endpoint key>  -> the whole URL
//   (endpoints table) <endpoint key>                             -> the whole URL
//
// A rank is one byte (endpoint_rank); the URL's bytes are printable ASCII, so the `\0`
// after it sorts a URL before every longer one that starts with it. An LMDB key holds at
// most 511 bytes and a URL up to 2,048: a longer URL is cut in the key, and the few URLs
// that share the cut (their first 400 bytes) sort by endpoint key in the tree. A walk reads
// each such group whole and orders it by the whole URL, so the list is in (rank, URL) order
// exactly, and a position is (rank, URL) alone (see `endpoint_position`).
//
// The entry moves only when the rank changes (a first failure, or a 2xx after failures),
// not with every event: an event's usual life never touches it. Internal to persistence/.

#include "persistence/error.hpp"
#include "persistence/listing.hpp"
#include "persistence/lmdb.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rundun::persistence::endpoint_index {

/// Bytes of a URL kept in its entry's key: with the prefix, the separator and a 32-byte
/// endpoint key, well under LMDB's 511-byte bound.
inline constexpr std::size_t indexed_url_bytes = 400;

/// The tables an endpoint's rows live in.
struct tables {
  /// The list indexes and figures (`lists`).
  MDB_dbi lists;
  /// Endpoint key -> URL (`endpoints`).
  MDB_dbi urls;
};

/// The key of an endpoint's entry.
std::string entry_key(endpoint_rank rank, std::string_view url, std::string_view endpoint);

/// Keeps an endpoint's rows in step with its figures, in the write transaction that changes
/// them: `before` none is an endpoint that had no events (its URL row is written from
/// `url`, when given, and its entry put), `after` none is one that has none left (its entry
/// and URL row are removed; the caller removes the figures), and a change of rank moves the
/// entry. `url` may be empty when the endpoint is known: its URL row is read then.
boost::system::error_code follow(lmdb::txn& t, const tables& db, std::string_view endpoint,
                                 const std::optional<endpoint_stats>& before,
                                 const std::optional<endpoint_stats>& after, std::string_view url);

/// One entry, as a walk finds it.
struct entry {
  endpoint_rank rank = endpoint_rank::healthy;
  std::string url;
  std::string endpoint;
};

/// A walk's entries, in list order, and whether more follow the last one.
struct walk_result {
  std::vector<entry> entries;
  bool more = false;
};

/// Up to `limit` entries strictly past `after` (a position of `endpoint_position`) in
/// (rank, URL) order, of rank `only` if given. Reads about `limit` entries (plus the whole
/// group of a cut URL, see above). Any transaction.
result<walk_result> walk(const lmdb::txn& t, MDB_dbi lists, std::optional<endpoint_rank> only,
                         const std::optional<list_position>& after, std::size_t limit);

} // namespace rundun::persistence::endpoint_index
