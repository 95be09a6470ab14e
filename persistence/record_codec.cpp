#include "persistence/record_codec.hpp"

#include <stdexcept>

#include <boost/json.hpp>

namespace json = boost::json;

namespace rundun {

namespace {

// Optional instants are stored as Unix milliseconds, or omitted.
void put_time(json::object& o, std::string_view key, const std::optional<time_point>& t) {
  if (t)
    o[key] = to_unix_ms(*t);
}

std::optional<time_point> get_time(const json::object& o, std::string_view key) {
  if (auto* v = o.if_contains(key))
    return from_unix_ms(v->to_number<std::int64_t>());
  return std::nullopt;
}

json::object encode_step_def(const step_def& s) {
  return {{"id", s.id},
          {"title", s.title},
          {"required", s.required},
          {"photos_required", s.photos_required}};
}

step_def decode_step_def(const json::object& o) {
  return {json::value_to<std::string>(o.at("id")), json::value_to<std::string>(o.at("title")),
          o.at("required").as_bool(), static_cast<int>(o.at("photos_required").as_int64())};
}

template <class Enum>
Enum enum_at(const json::object& o, std::string_view key) {
  return static_cast<Enum>(o.at(key).as_int64());
}

// Every decoder runs inside this guard: Boost.JSON's accessors throw on a shape mismatch,
// and a store that holds a malformed value must not take the process down.
template <class F>
auto guarded(std::string_view text, F&& f) -> std::optional<decltype(f(json::object{}))> {
  try {
    auto v = json::parse(text);
    return f(v.as_object());
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

} // namespace

std::string encode(const template_record& x) {
  json::array steps;
  for (auto& s : x.steps)
    steps.push_back(encode_step_def(s));
  json::object o{{"id", x.id.value},
                 {"name", x.name},
                 {"steps", std::move(steps)},
                 {"created_at", to_unix_ms(x.created_at)}};
  return json::serialize(o);
}

std::optional<template_record> decode_template(std::string_view text) {
  return guarded(text, [](const json::object& o) {
    template_record r;
    r.id.value = json::value_to<std::string>(o.at("id"));
    r.name = json::value_to<std::string>(o.at("name"));
    for (auto& s : o.at("steps").as_array())
      r.steps.push_back(decode_step_def(s.as_object()));
    r.created_at = from_unix_ms(o.at("created_at").to_number<std::int64_t>());
    return r;
  });
}

namespace {

// A run is stored in two parts: what never changes after creation (its spec: the template's
// steps, metadata, webhook, token, times) and what every command changes (its state:
// statuses, answers, photos). Only the state, a few hundred bytes, is rewritten per command;
// the spec (metadata alone may be 16 KiB) is written once.

json::object run_spec_object(const run_record& x) {
  json::array steps;
  for (auto& s : x.steps)
    steps.push_back(encode_step_def(s.def));
  json::object o{{"id", x.id.value},
                 {"template_id", x.source_template.value},
                 {"template_name", x.template_name},
                 {"token", x.token},
                 {"created_at", to_unix_ms(x.created_at)},
                 {"expires_at", to_unix_ms(x.expires_at)},
                 {"metadata", x.metadata_json},
                 {"steps", std::move(steps)}};
  if (x.webhook) {
    json::array events;
    for (auto t : x.webhook->events)
      events.push_back(static_cast<int>(t));
    o["webhook"] = json::object{
        {"url", x.webhook->url}, {"events", std::move(events)}, {"secret", x.webhook->secret}};
  }
  return o;
}

json::object run_state_object(const run_record& x) {
  json::array steps;
  for (auto& s : x.steps) {
    json::object so{{"status", static_cast<int>(s.status)}};
    if (!s.answer_json.empty())
      so["answer"] = s.answer_json;
    if (!s.photos.empty())
      so["photos"] = json::value_from(s.photos);
    put_time(so, "completed_at", s.completed_at);
    put_time(so, "skipped_at", s.skipped_at);
    steps.push_back(std::move(so));
  }
  json::object o{{"status", static_cast<int>(x.status)}, {"steps", std::move(steps)}};
  put_time(o, "ended_at", x.ended_at);
  if (x.cancelled_by)
    o["cancelled_by"] = static_cast<int>(*x.cancelled_by);
  return o;
}

/// Builds a run from its two parts; throws (inside `guarded`) on a shape mismatch.
run_record run_from(const json::object& spec, const json::object& state) {
  run_record r;
  r.id.value = json::value_to<std::string>(spec.at("id"));
  r.source_template.value = json::value_to<std::string>(spec.at("template_id"));
  r.template_name = json::value_to<std::string>(spec.at("template_name"));
  r.token = json::value_to<std::string>(spec.at("token"));
  r.created_at = from_unix_ms(spec.at("created_at").to_number<std::int64_t>());
  r.expires_at = from_unix_ms(spec.at("expires_at").to_number<std::int64_t>());
  r.metadata_json = json::value_to<std::string>(spec.at("metadata"));
  if (auto* w = spec.if_contains("webhook")) {
    auto& wo = w->as_object();
    webhook_config cfg;
    cfg.url = json::value_to<std::string>(wo.at("url"));
    cfg.secret = json::value_to<std::string>(wo.at("secret"));
    for (auto& t : wo.at("events").as_array())
      cfg.events.push_back(static_cast<event_type>(t.as_int64()));
    r.webhook = std::move(cfg);
  }
  r.status = enum_at<run_status>(state, "status");
  r.ended_at = get_time(state, "ended_at");
  if (state.contains("cancelled_by"))
    r.cancelled_by = enum_at<cancel_reason>(state, "cancelled_by");
  auto& defs = spec.at("steps").as_array();
  auto& states = state.at("steps").as_array();
  if (defs.size() != states.size())
    throw std::runtime_error("a run's spec and state disagree on its steps");
  for (std::size_t i = 0; i < defs.size(); ++i) {
    auto& so = states[i].as_object();
    step_state s;
    s.def = decode_step_def(defs[i].as_object());
    s.status = enum_at<step_status>(so, "status");
    if (auto* a = so.if_contains("answer"))
      s.answer_json = json::value_to<std::string>(*a);
    if (auto* p = so.if_contains("photos"))
      s.photos = json::value_to<std::vector<std::string>>(*p);
    s.completed_at = get_time(so, "completed_at");
    s.skipped_at = get_time(so, "skipped_at");
    r.steps.push_back(std::move(s));
  }
  return r;
}

} // namespace

std::string encode(const run_record& x) {
  return json::serialize(
      json::object{{"spec", run_spec_object(x)}, {"state", run_state_object(x)}});
}

std::optional<run_record> decode_run(std::string_view text) {
  return guarded(text, [](const json::object& o) {
    return run_from(o.at("spec").as_object(), o.at("state").as_object());
  });
}

std::string encode_run_spec(const run_record& x) {
  return json::serialize(run_spec_object(x));
}

std::string encode_run_state(const run_record& x) {
  return json::serialize(run_state_object(x));
}

std::optional<run_record> decode_run(std::string_view spec_text, std::string_view state_text) {
  return guarded(spec_text, [&](const json::object& spec) {
    auto state = json::parse(state_text);
    return run_from(spec, state.as_object());
  });
}

std::string encode(const photo_record& x) {
  json::object o{{"id", x.id.value},
                 {"run_id", x.run.value},
                 {"step", x.step},
                 {"content_type", x.content_type},
                 {"width", x.width},
                 {"height", x.height},
                 {"thumbnail_width", x.thumbnail_width},
                 {"thumbnail_height", x.thumbnail_height},
                 {"created_at", to_unix_ms(x.created_at)}};
  return json::serialize(o);
}

std::optional<photo_record> decode_photo(std::string_view text) {
  return guarded(text, [](const json::object& o) {
    photo_record p;
    p.id.value = json::value_to<std::string>(o.at("id"));
    p.run.value = json::value_to<std::string>(o.at("run_id"));
    p.step = json::value_to<std::string>(o.at("step"));
    p.content_type = json::value_to<std::string>(o.at("content_type"));
    p.width = static_cast<int>(o.at("width").as_int64());
    p.height = static_cast<int>(o.at("height").as_int64());
    p.thumbnail_width = static_cast<int>(o.at("thumbnail_width").as_int64());
    p.thumbnail_height = static_cast<int>(o.at("thumbnail_height").as_int64());
    p.created_at = from_unix_ms(o.at("created_at").to_number<std::int64_t>());
    return p;
  });
}

std::string encode(const event_record& x) {
  json::array attempts;
  for (auto& a : x.delivery.attempts) {
    json::object ao{
        {"attempt", a.attempt}, {"at", to_unix_ms(a.at)}, {"duration_ms", a.duration_ms}};
    if (a.status_code)
      ao["status_code"] = *a.status_code;
    if (a.error)
      ao["error"] = *a.error;
    attempts.push_back(std::move(ao));
  }
  json::object d{{"status", static_cast<int>(x.delivery.status)},
                 {"attempts", std::move(attempts)},
                 {"round_failures", x.delivery.round_failures}};
  put_time(d, "next_attempt_at", x.delivery.next_attempt_at);
  if (x.delivery.error)
    d["error"] = *x.delivery.error;
  json::object o{{"id", x.id.value},
                 {"run_id", x.run.value},
                 {"type", static_cast<int>(x.type)},
                 {"created_at", to_unix_ms(x.created_at)},
                 {"seq", x.seq},
                 {"endpoint", x.endpoint},
                 {"delivery", std::move(d)}};
  return json::serialize(o);
}

std::optional<event_record> decode_event(std::string_view text) {
  return guarded(text, [](const json::object& o) {
    event_record r;
    r.id.value = json::value_to<std::string>(o.at("id"));
    r.run.value = json::value_to<std::string>(o.at("run_id"));
    r.type = enum_at<event_type>(o, "type");
    r.created_at = from_unix_ms(o.at("created_at").to_number<std::int64_t>());
    r.seq = o.at("seq").to_number<std::uint64_t>();
    r.endpoint = json::value_to<std::string>(o.at("endpoint"));
    auto& d = o.at("delivery").as_object();
    r.delivery.status = enum_at<delivery_status>(d, "status");
    r.delivery.round_failures = static_cast<int>(d.at("round_failures").as_int64());
    r.delivery.next_attempt_at = get_time(d, "next_attempt_at");
    if (auto* e = d.if_contains("error"))
      r.delivery.error = json::value_to<std::string>(*e);
    for (auto& av : d.at("attempts").as_array()) {
      auto& ao = av.as_object();
      attempt_record a;
      a.attempt = static_cast<int>(ao.at("attempt").as_int64());
      a.at = from_unix_ms(ao.at("at").to_number<std::int64_t>());
      a.duration_ms = ao.at("duration_ms").to_number<std::int64_t>();
      if (auto* s = ao.if_contains("status_code"))
        a.status_code = static_cast<int>(s->as_int64());
      if (auto* e = ao.if_contains("error"))
        a.error = json::value_to<std::string>(*e);
      r.delivery.attempts.push_back(std::move(a));
    }
    return r;
  });
}

} // namespace rundun
