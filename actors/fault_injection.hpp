#pragma once

// Faults the tests inject into a real engine, to prove that a failed write or a throwing
// actor is contained. Empty by default: a production engine never sets them.

#include <functional>
#include <string_view>

namespace rundun {

/// Hooks at the engine's failure points; an empty hook is skipped.
struct fault_injection {
  /// Asked on the store's writer thread, inside the write of one run command (`action` is
  /// the run_action's name, `step_id` may be empty); `true` makes that write fail as a full
  /// disk would, with nothing of it committed. It may block, to hold the writer.
  std::function<bool(std::string_view run_id, std::string_view action, std::string_view step_id)>
      fail_run_write;
  /// Asked on the store's writer thread, inside the write of an attempt's result for
  /// `event_id`; `true` makes that write fail as a full disk would.
  std::function<bool(std::string_view event_id)> fail_result_write;
  /// Called on an actor's thread when a run actor (`actor` = "run", `id` = the run id)
  /// takes a command, or an endpoint actor (`actor` = "endpoint", `id` = the endpoint's URL)
  /// takes a delivery order; it may throw, as a bug in that actor would. Also called (`actor`
  /// = "endpoint.at_commit", `id` = the event id) once an endpoint actor has left a new
  /// event's first request in its write's commit_gate, before that write committed.
  std::function<void(std::string_view actor, std::string_view id)> on_message;
  /// Asked on the store's writer thread once a creation with an `Idempotency-Key` is
  /// committed, before it is answered; `true` drops the answer, so that a test can kill the
  /// process between the commit and the answer.
  std::function<bool(std::string_view key)> drop_keyed_answer;
  /// Called on the media thread before it decodes an upload; it may block, to hold the
  /// thread while the queue behind it fills.
  std::function<void()> before_media;
};

} // namespace rundun
