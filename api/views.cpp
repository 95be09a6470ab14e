#include "api/views.hpp"

#include <boost/json.hpp>

namespace json = boost::json;

namespace rundun::api {

namespace {

void put_time(json::object& o, std::string_view key, const std::optional<time_point>& t) {
  if (t)
    o[key] = format_rfc3339(*t);
}

json::object step_def_view(const step_def& s) {
  return {{"id", s.id},
          {"title", s.title},
          {"required", s.required},
          {"photos_required", s.photos_required}};
}

json::array steps_view(const run_record& r) {
  json::array out;
  for (auto& s : r.steps) {
    auto o = step_def_view(s.def);
    o["status"] = to_string(s.status);
    if (!s.answer_json.empty()) {
      json::object answer{{"value", nullptr}, {"note", nullptr}};
      auto given = json::parse(s.answer_json).as_object();
      for (auto& [k, v] : given)
        answer[k] = v;
      o["answer"] = std::move(answer);
    }
    o["photos"] = json::value_from(s.photos);
    put_time(o, "completed_at", s.completed_at);
    put_time(o, "skipped_at", s.skipped_at);
    out.push_back(std::move(o));
  }
  return out;
}

void put_run_times(json::object& o, const run_record& r) {
  o["status"] = to_string(r.status);
  o["created_at"] = format_rfc3339(r.created_at);
  o["expires_at"] = format_rfc3339(r.expires_at);
  put_time(o, "ended_at", r.ended_at);
  if (r.cancelled_by)
    o["cancel_reason"] = to_string(*r.cancelled_by);
}

} // namespace

json::object template_view(const template_record& t) {
  json::array steps;
  for (auto& s : t.steps)
    steps.push_back(step_def_view(s));
  return {{"id", t.id.value},
          {"name", t.name},
          {"steps", std::move(steps)},
          {"created_at", format_rfc3339(t.created_at)}};
}

json::object run_view(const run_record& r, std::string_view link_base, bool secret_once) {
  json::object o;
  o["id"] = r.id.value;
  o["template_id"] = r.source_template.value;
  put_run_times(o, r);
  o["link"] = std::string(link_base) + "/r/" + r.token;
  o["metadata"] = json::parse(r.metadata_json);
  o["steps"] = steps_view(r);
  if (r.webhook) {
    json::array events;
    for (auto t : r.webhook->events)
      events.push_back(json::string(to_string(t)));
    json::object w{{"url", r.webhook->url}, {"events", std::move(events)}};
    if (secret_once)
      w["secret"] = r.webhook->secret;
    o["webhook"] = std::move(w);
  } else {
    o["webhook"] = nullptr;
  }
  return o;
}

json::object executor_view(const run_record& r) {
  json::object o;
  o["id"] = r.id.value;
  o["template_name"] = r.template_name;
  put_run_times(o, r);
  o["steps"] = steps_view(r);
  return o;
}

json::object event_view(const event_record& e) {
  json::array attempts;
  for (auto& a : e.delivery.attempts) {
    json::object ao{{"attempt", a.attempt}, {"at", format_rfc3339(a.at)}};
    if (a.status_code)
      ao["status_code"] = *a.status_code;
    if (a.error)
      ao["error"] = *a.error;
    ao["duration_ms"] = a.duration_ms;
    attempts.push_back(std::move(ao));
  }
  json::object d{{"status", to_string(e.delivery.status)}, {"attempts", std::move(attempts)}};
  if (e.delivery.status == delivery_status::pending)
    put_time(d, "next_attempt_at", e.delivery.next_attempt_at);
  if (e.delivery.error)
    d["error"] = *e.delivery.error;
  return {{"event_id", e.id.value},
          {"event", to_string(e.type)},
          {"created_at", format_rfc3339(e.created_at)},
          {"delivery", std::move(d)}};
}

json::object events_view(const std::vector<event_record>& events) {
  json::array out;
  for (auto& e : events)
    out.push_back(event_view(e));
  return {{"events", std::move(out)}};
}

json::object error_body(std::string_view code, std::string_view message,
                        const std::vector<std::string>& steps) {
  json::object e{{"code", code}, {"message", message}};
  if (!steps.empty())
    e["steps"] = json::value_from(steps);
  return {{"error", std::move(e)}};
}

} // namespace rundun::api
