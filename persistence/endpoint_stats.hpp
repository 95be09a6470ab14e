#pragma once

#include "persistence/model.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rundun {

/// What the store keeps about one endpoint (one normalised webhook URL) for `GET
/// /v1/endpoints`: its events by delivery status, its last attempt, and since when it has
/// been failing. Kept in step with the events in the commit that changes them.
struct endpoint_stats {
  std::uint64_t pending = 0;
  std::uint64_t delivered = 0;
  std::uint64_t failed = 0;
  /// The latest attempt to this endpoint (its `attempt` number is not kept).
  std::optional<attempt_record> last_attempt;
  /// The first failed attempt of the current run of failures; a 2xx clears it.
  std::optional<time_point> failing_since;
  /// The latest successful attempt: a failure before it does not start a run of failures,
  /// whatever order attempts are accounted in.
  std::optional<time_point> last_success;
  /// Events that a recovery sent again and that wait for their new attempt.
  std::uint64_t recovering = 0;
  /// When the endpoint was disabled, after failing for the engine's `endpoint_disable_after`
  /// (contract §7); none while it is enabled. A recovery enables it again.
  std::optional<time_point> disabled_at;
};

/// True when an attempt succeeded: a 2xx, within the timeout.
bool succeeded(const attempt_record& a);

/// Accounts one event's change in `s`: `before` is the event as stored (none when new),
/// `after` as it will be stored (none when removed). Counts move with the status, and each
/// attempt `after` has beyond `before` updates the last attempt and the run of failures.
void account(endpoint_stats& s, const event_record* before, const event_record* after);

std::string encode(const endpoint_stats& s);
/// `std::nullopt` for a value that is not an encoded `endpoint_stats`.
std::optional<endpoint_stats> decode_endpoint_stats(std::string_view text);

} // namespace rundun
