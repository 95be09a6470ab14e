#pragma once

// The keys of the store's tables and indexes that more than one of its files builds: the
// writes (write_batch.cpp, which defines them) put them, the reads, scans and migrations find
// them. The pending index's key is declared in store.hpp, where tests build it too. Internal
// to persistence/.

#include "persistence/error.hpp"
#include "persistence/lmdb.hpp"
#include "persistence/model.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace rundun::persistence {

/// The `meta` key of the largest event sequence number stored: written once per commit
/// (store_writer.cpp), read at open.
inline constexpr std::string_view seq_meta_key = "event_seq";

/// The `meta` key of the low-water mark of the first attempts (first_attempts.hpp): every
/// event below it has had its first attempt. Written at most once per commit
/// (store_writer.cpp), read at open, where the events from it on are read again.
inline constexpr std::string_view first_attempt_mark_key = "first_attempt_mark";

/// The key of an event's record and data, looked up through the id index `ids`. Events are
/// keyed by sequence number, not by their random id, so that new events append to the end of
/// the tree: a random key would dirty a random page of each table on every event.
result<std::optional<std::string>> event_key(const lmdb::txn& t, MDB_dbi ids, const event_id& id);

/// The key of an active run in the expiry index: its expiry (big-endian milliseconds), then
/// its id.
std::string expiry_key(const run_record& r);

/// The key of an ended run in the index retention walks: by end time, oldest first.
std::string ended_key(const run_record& r);

} // namespace rundun::persistence
