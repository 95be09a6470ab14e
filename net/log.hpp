#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <utility>

namespace rundun::log {

enum class level { debug, info, warn, error };

/// Sets the lowest level written. Thread-safe; the default is `info`.
void set_level(level l);

/// Parses `debug`, `info`, `warn` or `error`.
bool parse_level(std::string_view text, level& out);

using field = std::pair<std::string_view, std::string_view>;

/// Writes one JSON object per line to stderr: `time` (of the call), `level`, `message` and
/// the given fields (ids such as `run_id`, `event_id`, `endpoint`). Never pass a secret,
/// token or key. Thread-safe and never blocking: the caller formats the line and queues it
/// to spdlog's log thread, which writes each line with one call. When the queue (8,192
/// lines) is full because stderr is slower than the logging, the oldest waiting line is
/// dropped and counted (`dropped()`), so a slow stderr never holds an actor.
void write(level l, std::string_view msg, std::initializer_list<field> fields = {});

/// Lines dropped so far because the queue was full.
std::uint64_t dropped();

/// Waits until every line queued before the call is written (or dropped), at most `limit`.
/// False on timeout. rundund calls it before saying it listens, and at exit.
bool flush(std::chrono::milliseconds limit = std::chrono::seconds{2});

inline void debug(std::string_view m, std::initializer_list<field> f = {}) {
  write(level::debug, m, f);
}
inline void info(std::string_view m, std::initializer_list<field> f = {}) {
  write(level::info, m, f);
}
inline void warn(std::string_view m, std::initializer_list<field> f = {}) {
  write(level::warn, m, f);
}
inline void error(std::string_view m, std::initializer_list<field> f = {}) {
  write(level::error, m, f);
}

} // namespace rundun::log
