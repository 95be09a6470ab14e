#pragma once

#include "persistence/model.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rundun {

/// The operator's notices about an endpoint (contract §7, `--operator-webhook`).
enum class notice_type : std::uint8_t { failing = 1, disabled = 2, recovered = 3 };

/// `endpoint.failing`, `endpoint.disabled`, `endpoint.recovered`.
std::string_view to_string(notice_type t);

/// A notice that a change of an endpoint's figures owes the operator: made by `account` and
/// by disabling and enabling, in the write that changes the figures, and stored by the
/// store in that same commit (see operator_notice.hpp).
struct owed_notice {
  notice_type type = notice_type::failing;
  /// When it happened: the failed event's last attempt, the disabling, the 2xx or the
  /// recovery.
  time_point at;
  std::optional<time_point> failing_since;
  std::optional<attempt_record> last_attempt;
  /// For `endpoint.disabled`: the events that failed, or fail now as it is disabled.
  std::uint64_t failed_events = 0;
};

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
  /// `endpoint.failing` was owed in the current run of failures (once per run, contract
  /// §7); a 2xx or a recovery ends the run.
  bool failing_noticed = false;
  /// Notices owed by the changes accounted since these figures were read; never stored
  /// with them (the store takes them out in the same commit).
  std::vector<owed_notice> owed;
};

/// True when an attempt succeeded: a 2xx, within the timeout.
bool succeeded(const attempt_record& a);

/// Accounts one event's change in `s`: `before` is the event as stored (none when new),
/// `after` as it will be stored (none when removed). Counts move with the status, and each
/// attempt `after` has beyond `before` updates the last attempt and the run of failures.
/// It owes `endpoint.failing` when the first event of a run of failures fails after its last
/// attempt, and `endpoint.recovered` when a 2xx ends a run of failures that was noticed (on
/// an endpoint that is not disabled: a recovery enables that one).
void account(endpoint_stats& s, const event_record* before, const event_record* after);

/// Disables the endpoint at `at`, owing `endpoint.disabled`; false when it already was.
bool disable(endpoint_stats& s, time_point at);
/// Enables a disabled endpoint at `at` and ends its run of failures, owing
/// `endpoint.recovered`; false when it was not disabled.
bool enable(endpoint_stats& s, time_point at);

std::string encode(const endpoint_stats& s);
/// `std::nullopt` for a value that is not an encoded `endpoint_stats`.
std::optional<endpoint_stats> decode_endpoint_stats(std::string_view text);

} // namespace rundun
