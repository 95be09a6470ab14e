#pragma once

#include "net/error.hpp"

#include <chrono>
#include <optional>
#include <string_view>
#include <vector>

namespace rundun::net {

using std::chrono::milliseconds;

/// Delays before attempt 2, 3, …: `30s,2m,10m,1h,6h` by default, so up to six attempts.
struct retry_schedule {
  std::vector<milliseconds> delays;

  /// The most attempts one round of the schedule makes.
  int max_attempts() const { return static_cast<int>(delays.size()) + 1; }
  milliseconds longest() const;
};

/// The product's default schedule.
retry_schedule default_retry_schedule();

/// Parses one duration: a whole number and a unit, `ms`, `s`, `m`, `h` or `d` (`250ms`, `2m`,
/// `5d`).
result<milliseconds> parse_duration(std::string_view text);

/// Parses a comma-separated list of durations, e.g. `30s,2m,10m,1h,6h`.
result<retry_schedule> parse_retry_schedule(std::string_view text);

/// What one delivery attempt came to, as far as the retry decision cares.
struct attempt_outcome {
  /// The response status, if a response came.
  std::optional<int> status;
  /// The delay a `Retry-After` header asked for, already parsed.
  std::optional<milliseconds> retry_after;
};

/// What to do after an attempt.
enum class verdict {
  delivered, ///< a 2xx: done
  retry,     ///< failed; try again after `delay`
  failed,    ///< failed, and the schedule is used up
  gone,      ///< `410 Gone`: fail at once and turn the run's webhook off
};

struct retry_decision {
  verdict what = verdict::failed;
  milliseconds delay{0};
};

/// Decides the next step after an attempt.
///
/// `failures_in_round` counts failed attempts since the schedule (re)started, including this
/// one. `jitter` in [0, 1) lengthens the delay by up to 10 %; it never shortens it. A `429` or
/// `503` with `Retry-After` waits no less than asked, capped at the schedule's longest delay.
retry_decision decide_retry(const retry_schedule& schedule, int failures_in_round,
                            const attempt_outcome& outcome, double jitter);

} // namespace rundun::net
