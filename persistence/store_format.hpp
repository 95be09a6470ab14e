#pragma once

// The layout of the store on disk, as the stamp in its `meta` table names it, and the older
// layouts it moves over from. store_open.cpp checks the stamp; store_migrations.cpp moves an
// older store over and reports each move by the formats it goes between. Internal to
// persistence/.

#include <string_view>

namespace rundun::persistence {

/// The `meta` key of the format stamp.
inline constexpr std::string_view format_meta_key = "format";
/// The layout of the records on disk; a store written in another layout is refused.
inline constexpr std::string_view format_version = "8";
/// Format 7 kept an entry in the pending index for each event waiting for its first attempt;
/// format 8 keeps their low-water mark (persistence/first_attempts.hpp). The entries are
/// removed, and the mark put, at open.
inline constexpr std::string_view format_with_first_attempt_entries = "7";
/// Format 6 rewrote an event's record for each change of its delivery; format 7 appends the
/// changes to the `deliveries` log (persistence/delivery_log.hpp). Nothing is moved.
inline constexpr std::string_view format_without_delivery_log = "6";
/// Format 5 had no endpoint index (persistence/endpoint_index.hpp); it is built at open.
inline constexpr std::string_view format_without_endpoint_index = "5";
/// Format 4 had no list indexes (persistence/list_index.hpp); they are built at open.
inline constexpr std::string_view format_without_lists = "4";
/// Format 3 listed a run's events in an index of their own (`run_events`); format 4 keeps
/// them in the run's state value (persistence/run_value.hpp). A format 3 store is moved over
/// once, at open.
inline constexpr std::string_view format_listing_events_apart = "3";

} // namespace rundun::persistence
