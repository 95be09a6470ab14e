#include "actors/event_data.hpp"

#include "net/base64.hpp"

#include <boost/json.hpp>

namespace json = boost::json;

namespace rundun {

namespace {

/// An event's `data`: `template_id` and the run's metadata first, then the event's own
/// fields. The metadata is spliced in as the run stores it (checked and made compact once,
/// when the run was made), not parsed again for every event.
std::string with_base(const run_record& run, const json::object& own) {
  auto rest = json::serialize(own); // `{…}`, never empty here
  std::string out;
  out.reserve(run.metadata_json.size() + rest.size() + 64);
  out += "{\"template_id\":";
  out += json::serialize(json::string(run.source_template.value));
  out += ",\"metadata\":";
  out += run.metadata_json;
  out += ',';
  out.append(rest, 1);
  return out;
}

json::object step_ref(const step_state& s) {
  return {{"id", s.def.id}, {"title", s.def.title}, {"required", s.def.required}};
}

json::array step_statuses(const run_record& run) {
  json::array out;
  for (auto& s : run.steps)
    out.push_back(json::object{{"id", s.def.id}, {"status", to_string(s.status)}});
  return out;
}

} // namespace

std::string step_completed_data(const run_record& run, const step_state& step,
                                const std::vector<photo_with_thumbnail>& photos) {
  json::object o;
  o["step"] = step_ref(step);
  json::object answer{{"value", nullptr}, {"note", nullptr}};
  if (!step.answer_json.empty()) {
    auto given = json::parse(step.answer_json).as_object();
    if (auto* v = given.if_contains("value"))
      answer["value"] = *v;
    if (auto* n = given.if_contains("note"))
      answer["note"] = *n;
  }
  o["answer"] = std::move(answer);
  o["completed_at"] = format_rfc3339(*step.completed_at);
  json::array list;
  for (auto& p : photos)
    list.push_back(
        json::object{{"photo_id", p.record.id.value},
                     {"content_type", p.record.content_type},
                     {"width", p.record.width},
                     {"height", p.record.height},
                     {"thumbnail", json::object{{"content_type", "image/jpeg"},
                                                {"width", p.record.thumbnail_width},
                                                {"height", p.record.thumbnail_height},
                                                {"data", net::base64_encode(p.thumbnail_jpeg)}}}});
  o["photos"] = std::move(list);
  return with_base(run, o);
}

std::string step_skipped_data(const run_record& run, const step_state& step) {
  json::object o;
  o["step"] = step_ref(step);
  o["skipped_at"] = format_rfc3339(*step.skipped_at);
  return with_base(run, o);
}

std::string run_completed_data(const run_record& run) {
  json::object o;
  o["completed_at"] = format_rfc3339(*run.ended_at);
  o["steps"] = step_statuses(run);
  return with_base(run, o);
}

std::string run_cancelled_data(const run_record& run) {
  json::object o;
  o["reason"] = to_string(run.cancelled_by.value_or(cancel_reason::api));
  o["cancelled_at"] = format_rfc3339(*run.ended_at);
  o["steps"] = step_statuses(run);
  return with_base(run, o);
}

std::string run_expired_data(const run_record& run) {
  json::object o;
  o["expired_at"] = format_rfc3339(run.expires_at);
  o["steps"] = step_statuses(run);
  return with_base(run, o);
}

} // namespace rundun
