#pragma once

#include "persistence/domain_error.hpp"
#include "persistence/model.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace rundun {

/// What an executor or the API asks of a run.
enum class run_action : std::uint8_t { answer, skip, submit, exit, cancel, add_photo };

/// The action's name, for logs and fault injection: `answer`, `skip`, ...
std::string_view to_string(run_action a);

/// An event the run logic created, before it gets an id and a sequence number.
struct new_event {
  event_type type;
  time_point at;
  std::string data_json;
};

/// The events a command created, or why it was refused. A refused command leaves the run
/// untouched.
using transition = outcome<std::vector<new_event>>;

/// The step state machine of one run. Pure functions: no actor, no clock, no I/O. The run
/// actor calls them with the time of the command and persists the changed run with the
/// events before it answers.

/// True when an active run's `expires_at` has passed at `now`.
bool expiry_due(const run_record& run, time_point now);

/// Ends an active run as expired, `ended_at` = `expires_at`, with a `run.expired` event.
transition expire_run(run_record& run);

/// Completes a pending step. `answer_json` is `{"value":…,"note":…}` (either may be absent).
/// `photos` are the step's photos with thumbnails, for the event. Refused: unknown step (404
/// `step_not_found`), step not pending (409 `step_not_pending`), too few photos (409
/// `photos_missing`), run not active (409/410).
transition answer_step(run_record& run, std::string_view step_id, std::string answer_json,
                       time_point now, const std::vector<photo_with_thumbnail>& photos = {});

/// Attaches an uploaded photo to a pending step; no event. Refused: unknown step, step not
/// pending, 20 photos already (409 `too_many_photos`), run not active.
transition add_photo(run_record& run, std::string_view step_id, const photo_id& photo);

/// Skips a pending optional step. A required step is 409 `step_required`.
transition skip_step(run_record& run, std::string_view step_id, time_point now);

/// Completes the run when every required step is completed; otherwise 409 `steps_missing`
/// listing the steps.
transition submit_run(run_record& run, time_point now);

/// Cancels an active run for `reason`.
transition cancel_run(run_record& run, cancel_reason reason, time_point now);

/// The refusal for an action on a run that is not active: `410 link_expired` when it
/// expired, `409 run_not_active` otherwise. Empty for an active run.
std::optional<domain_error> refuse_if_ended(const run_record& run);

/// The refusal of `action` on a run that is not active: the API's cancel is `409
/// run_not_active` even for an expired run (it is not a link action); the others are as
/// `refuse_if_ended`. Empty for an active run.
std::optional<domain_error> refuse_on_ended(const run_record& run, run_action action);

} // namespace rundun
