#pragma once

// What one delivery attempt's result means for its event: the retry decision, and the step
// that the event's delivery log stores (persistence/delivery_log.hpp). Pure: no actor, no
// socket, no clock of its own; the endpoint actor calls it with the report and the time.

#include "net/retry_policy.hpp"
#include "persistence/delivery_log.hpp"

#include <optional>
#include <string>

namespace rundun {

/// One attempt's result, as the HTTP client reported it.
struct attempt_result {
  int attempt = 1;
  time_point at;
  /// The response status; 0 when no response came.
  int status = 0;
  /// The response's `Retry-After`, already parsed.
  std::optional<std::chrono::milliseconds> retry_after;
  /// Why no (usable) response came, e.g. `timeout`; empty when one did.
  std::string error;
  std::int64_t duration_ms = 0;
};

struct attempt_verdict {
  net::verdict what = net::verdict::failed;
  /// When the next attempt is due (`retry` only).
  std::optional<time_point> retry_at;
  /// The step to append to the event's log.
  persistence::delivery_step step;
};

/// Judges `r`, the event's attempt after `round_failures` failed attempts of its current
/// round. `webhook_off`: its run's webhook answered 410 before, so a failure does not retry.
/// `jitter` in [0, 1); `now` is when the result arrived.
attempt_verdict judge_attempt(const attempt_result& r, int round_failures, bool webhook_off,
                              const net::retry_schedule& schedule, double jitter, time_point now);

} // namespace rundun
