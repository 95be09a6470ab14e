#pragma once

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

/// Writes one JSON object per line to stderr: `time`, `level`, `message` and the given fields
/// (ids such as `run_id`, `event_id`, `endpoint`). Never pass a secret, token or key.
/// Thread-safe: each line is written with one call.
void write(level l, std::string_view msg, std::initializer_list<field> fields = {});

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
