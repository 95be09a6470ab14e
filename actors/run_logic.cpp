#include "actors/run_logic.hpp"

#include "actors/event_data.hpp"

namespace rundun {

namespace {

transition single(event_type type, time_point at, std::string data) {
  return std::vector<new_event>{{type, at, std::move(data)}};
}

outcome<step_state*> pending_step(run_record& run, std::string_view step_id) {
  if (auto refusal = refuse_if_ended(run))
    return *refusal;
  auto* step = run.find_step(step_id);
  if (!step)
    return not_found("step_not_found", "step '" + std::string(step_id) + "' is not in this run");
  if (step->status != step_status::pending)
    return conflict("step_not_pending", "step '" + std::string(step_id) + "' is already " +
                                            std::string(to_string(step->status)));
  return step;
}

void end_run(run_record& run, run_status status, time_point at) {
  run.status = status;
  run.ended_at = at;
}

} // namespace

bool expiry_due(const run_record& run, time_point now) {
  return run.active() && now >= run.expires_at;
}

std::optional<domain_error> refuse_if_ended(const run_record& run) {
  if (run.status == run_status::expired)
    return domain_error{error_kind::gone, "link_expired", "this run's link has expired", {}};
  if (!run.active())
    return conflict("run_not_active",
                    "the run is " + std::string(to_string(run.status)) + ", not active");
  return std::nullopt;
}

std::optional<domain_error> refuse_on_ended(const run_record& run, run_action action) {
  if (run.active())
    return std::nullopt;
  if (action == run_action::cancel)
    return conflict("run_not_active",
                    "the run is " + std::string(to_string(run.status)) + ", not active");
  return refuse_if_ended(run);
}

std::string_view to_string(run_action a) {
  switch (a) {
  case run_action::answer:
    return "answer";
  case run_action::skip:
    return "skip";
  case run_action::submit:
    return "submit";
  case run_action::exit:
    return "exit";
  case run_action::cancel:
    return "cancel";
  case run_action::add_photo:
    return "add_photo";
  }
  return "unknown";
}

transition expire_run(run_record& run) {
  if (auto refusal = refuse_if_ended(run))
    return *refusal;
  end_run(run, run_status::expired, run.expires_at);
  return single(event_type::run_expired, run.expires_at, run_expired_data(run));
}

transition answer_step(run_record& run, std::string_view step_id, std::string answer_json,
                       time_point now, const std::vector<photo_with_thumbnail>& photos) {
  auto step = pending_step(run, step_id);
  if (!step)
    return step.error();
  auto& s = **step;
  if (static_cast<int>(s.photos.size()) < s.def.photos_required) {
    auto missing = s.def.photos_required - static_cast<int>(s.photos.size());
    return conflict("photos_missing", "step '" + s.def.id + "' needs " +
                                          std::to_string(s.def.photos_required) + " photos, " +
                                          std::to_string(missing) + " missing");
  }
  s.status = step_status::completed;
  s.answer_json = std::move(answer_json);
  s.completed_at = now;
  return single(event_type::step_completed, now, step_completed_data(run, s, photos));
}

transition add_photo(run_record& run, std::string_view step_id, const photo_id& photo) {
  auto step = pending_step(run, step_id);
  if (!step)
    return step.error();
  auto& s = **step;
  if (s.photos.size() >= max_photos_per_step)
    return conflict("too_many_photos", "step '" + s.def.id + "' already holds " +
                                           std::to_string(max_photos_per_step) + " photos");
  s.photos.push_back(photo.value);
  return std::vector<new_event>{};
}

transition skip_step(run_record& run, std::string_view step_id, time_point now) {
  auto step = pending_step(run, step_id);
  if (!step)
    return step.error();
  auto& s = **step;
  if (s.def.required)
    return conflict("step_required", "step '" + s.def.id + "' is required and cannot be skipped");
  s.status = step_status::skipped;
  s.skipped_at = now;
  return single(event_type::step_skipped, now, step_skipped_data(run, s));
}

transition submit_run(run_record& run, time_point now) {
  if (auto refusal = refuse_if_ended(run))
    return *refusal;
  std::vector<std::string> missing;
  for (auto& s : run.steps)
    if (s.def.required && s.status != step_status::completed)
      missing.push_back(s.def.id);
  if (!missing.empty()) {
    std::string list;
    for (auto& id : missing)
      list += (list.empty() ? "" : ", ") + id;
    auto e = conflict("steps_missing", "required steps are not completed: " + list);
    e.steps = std::move(missing);
    return e;
  }
  end_run(run, run_status::completed, now);
  return single(event_type::run_completed, now, run_completed_data(run));
}

transition cancel_run(run_record& run, cancel_reason reason, time_point now) {
  if (auto refusal = refuse_if_ended(run)) {
    // The API's cancel is not a link action: an expired run is simply no longer active.
    if (reason == cancel_reason::api)
      return conflict("run_not_active",
                      "the run is " + std::string(to_string(run.status)) + ", not active");
    return *refusal;
  }
  end_run(run, run_status::cancelled, now);
  run.cancelled_by = reason;
  return single(event_type::run_cancelled, now, run_cancelled_data(run));
}

} // namespace rundun
