#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rundun {

/// Wall-clock instants as the product stores and shows them: UTC, millisecond precision.
using time_point = std::chrono::sys_time<std::chrono::milliseconds>;

/// How far the product's wall clock runs ahead of the system's (behind, if negative): zero
/// unless a test sets it. `rundund` sets it once at start, before any thread of the engine
/// runs, from `RUNDUN_CLOCK_START`; a test of the library sets it in its fixture. A test that
/// opens a data dir written on another day starts the clock on that day, so its dates stay
/// valid whatever the calendar says. Thread-safe.
void set_clock_offset(std::chrono::milliseconds offset);

/// The offset `set_clock_offset` set. Thread-safe, and cheap: one relaxed atomic load.
std::chrono::milliseconds clock_offset();

/// The current wall-clock time as the product sees it (the system's plus `clock_offset()`),
/// truncated to milliseconds. Every instant the product stores or compares comes from here.
/// Thread-safe.
inline time_point now() {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now()) +
         clock_offset();
}

/// Milliseconds since the Unix epoch, the form instants take in LMDB keys and records.
inline std::int64_t to_unix_ms(time_point t) {
  return t.time_since_epoch().count();
}

/// The inverse of `to_unix_ms`.
inline time_point from_unix_ms(std::int64_t ms) {
  return time_point{std::chrono::milliseconds{ms}};
}

/// RFC 3339 in UTC with a `Z`, with milliseconds only when they are not zero:
/// `2026-05-22T08:32:00Z`, `2026-05-22T08:32:00.250Z`.
std::string format_rfc3339(time_point t);

/// Parses an RFC 3339 date-time: `2026-05-22T08:32:00Z`, with fractional seconds (kept to
/// the millisecond) and a `Z` or a numeric offset (`+02:00`). `std::nullopt` for anything
/// else, a date that does not exist included.
std::optional<time_point> parse_rfc3339(std::string_view text);

} // namespace rundun
