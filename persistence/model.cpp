#include "persistence/model.hpp"

#include <algorithm>

namespace rundun {

std::string_view to_string(event_type t) {
  switch (t) {
  case event_type::step_completed:
    return "step.completed";
  case event_type::step_skipped:
    return "step.skipped";
  case event_type::run_completed:
    return "run.completed";
  case event_type::run_cancelled:
    return "run.cancelled";
  case event_type::run_expired:
    return "run.expired";
  }
  return "unknown";
}

std::optional<event_type> parse_event_type(std::string_view name) {
  for (auto t : all_event_types)
    if (to_string(t) == name)
      return t;
  return std::nullopt;
}

std::string_view to_string(step_status s) {
  switch (s) {
  case step_status::pending:
    return "pending";
  case step_status::completed:
    return "completed";
  case step_status::skipped:
    return "skipped";
  }
  return "unknown";
}

std::string_view to_string(run_status s) {
  switch (s) {
  case run_status::active:
    return "active";
  case run_status::completed:
    return "completed";
  case run_status::cancelled:
    return "cancelled";
  case run_status::expired:
    return "expired";
  }
  return "unknown";
}

std::string_view to_string(cancel_reason r) {
  return r == cancel_reason::api ? "api" : "executor_exit";
}

std::string_view to_string(delivery_status s) {
  switch (s) {
  case delivery_status::pending:
    return "pending";
  case delivery_status::delivered:
    return "delivered";
  case delivery_status::failed:
    return "failed";
  case delivery_status::not_subscribed:
    return "not_subscribed";
  }
  return "unknown";
}

bool webhook_config::subscribes_to(event_type t) const {
  return std::find(events.begin(), events.end(), t) != events.end();
}

step_state* run_record::find_step(std::string_view step_id) {
  for (auto& s : steps)
    if (s.def.id == step_id)
      return &s;
  return nullptr;
}

} // namespace rundun
