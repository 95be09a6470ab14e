#include "api/request_parsing.hpp"

#include "api/strict_json.hpp"

#include <cmath>
#include <limits>

#include <boost/json.hpp>

namespace json = boost::json;

namespace rundun::api {

namespace {

/// A note longer than this is refused: it is meant for a sentence or two.
constexpr std::size_t max_note_chars = 10'000;

std::string type_name(const json::value& v) {
  switch (v.kind()) {
  case json::kind::null:
    return "null";
  case json::kind::bool_:
    return "a boolean";
  case json::kind::int64:
  case json::kind::uint64:
  case json::kind::double_:
    return "a number";
  case json::kind::string:
    return "a string";
  case json::kind::array:
    return "an array";
  case json::kind::object:
    return "an object";
  }
  return "unknown";
}

domain_error wrong_type(const std::string& field, const char* wanted, const json::value& got) {
  return invalid_field(field + " must be " + wanted + ", got " + type_name(got));
}

outcome<std::string> string_at(const json::object& o, std::string_view key,
                               const std::string& field) {
  auto* v = o.if_contains(key);
  if (!v)
    return invalid_field(field + " is required");
  if (!v->is_string())
    return wrong_type(field, "a string", *v);
  return std::string(v->as_string());
}

/// An integer, also when written as 2.0; anything else is refused.
outcome<std::optional<int>> optional_int(const json::object& o, std::string_view key,
                                         const std::string& field) {
  auto* v = o.if_contains(key);
  if (!v || v->is_null())
    return std::optional<int>{};
  double d = 0;
  if (v->is_int64())
    d = static_cast<double>(v->as_int64());
  else if (v->is_uint64())
    d = static_cast<double>(v->as_uint64());
  else if (v->is_double())
    d = v->as_double();
  else
    return wrong_type(field, "an integer", *v);
  if (d != std::floor(d) || std::abs(d) > std::numeric_limits<int>::max())
    return invalid_field(field + " must be an integer");
  return std::optional<int>{static_cast<int>(d)};
}

outcome<std::optional<bool>> optional_bool(const json::object& o, std::string_view key,
                                           const std::string& field) {
  auto* v = o.if_contains(key);
  if (!v || v->is_null())
    return std::optional<bool>{};
  if (!v->is_bool())
    return wrong_type(field, "true or false", *v);
  return std::optional<bool>{v->as_bool()};
}

outcome<webhook_spec> parse_webhook(const json::value& v) {
  if (!v.is_object())
    return wrong_type("webhook", "an object", v);
  auto& o = v.as_object();
  webhook_spec spec;
  auto url = string_at(o, "url", "webhook.url");
  if (!url)
    return url.error();
  spec.url = std::move(*url);
  if (auto* events = o.if_contains("events"); events && !events->is_null()) {
    if (!events->is_array())
      return wrong_type("webhook.events", "an array of event names", *events);
    std::vector<std::string> names;
    auto& arr = events->as_array();
    for (std::size_t i = 0; i < arr.size(); ++i) {
      if (!arr[i].is_string())
        return wrong_type("webhook.events[" + std::to_string(i) + "]", "a string", arr[i]);
      names.emplace_back(arr[i].as_string());
    }
    spec.events = std::move(names);
  }
  if (auto* secret = o.if_contains("secret"); secret && !secret->is_null()) {
    if (!secret->is_string())
      return domain_error{error_kind::invalid_input,
                          "invalid_secret",
                          "webhook.secret must be a string: whsec_ followed by base64",
                          {}};
    spec.secret = std::string(secret->as_string());
  }
  return spec;
}

} // namespace

outcome<json::object> parse_object(std::string_view body, bool empty_ok) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    if (empty_ok)
      return json::object{};
    return invalid_field("the body must be a JSON object, got an empty body");
  }
  std::string why;
  auto parsed = parse_strict_json(body, why);
  if (!parsed)
    return domain_error{
        error_kind::invalid_input, "invalid_json", "the body is not valid JSON: " + why, {}};
  auto& v = *parsed;
  if (!v.is_object())
    return invalid_field("the body must be a JSON object, got " + type_name(v));
  return std::move(v.as_object());
}

outcome<template_spec> parse_template_spec(const json::object& body) {
  template_spec spec;
  auto name = string_at(body, "name", "name");
  if (!name)
    return name.error();
  spec.name = std::move(*name);
  auto* steps = body.if_contains("steps");
  if (!steps)
    return invalid_field("steps is required");
  if (!steps->is_array())
    return wrong_type("steps", "an array", *steps);
  auto& arr = steps->as_array();
  for (std::size_t i = 0; i < arr.size(); ++i) {
    auto field = "steps[" + std::to_string(i) + "]";
    if (!arr[i].is_object())
      return wrong_type(field, "an object", arr[i]);
    auto& so = arr[i].as_object();
    step_spec s;
    if (auto* id = so.if_contains("id"); id && !id->is_null()) {
      if (!id->is_string())
        return wrong_type(field + ".id", "a string", *id);
      s.id = std::string(id->as_string());
    }
    auto title = string_at(so, "title", field + ".title");
    if (!title)
      return title.error();
    s.title = std::move(*title);
    auto required = optional_bool(so, "required", field + ".required");
    if (!required)
      return required.error();
    s.required = *required;
    auto photos = optional_int(so, "photos_required", field + ".photos_required");
    if (!photos)
      return photos.error();
    s.photos_required = *photos;
    spec.steps.push_back(std::move(s));
  }
  return spec;
}

outcome<run_spec> parse_run_spec(const json::object& body) {
  run_spec spec;
  auto tid = string_at(body, "template_id", "template_id");
  if (!tid)
    return tid.error();
  spec.source_template = template_id{std::move(*tid)};
  if (auto* w = body.if_contains("webhook"); w && !w->is_null()) {
    auto hook = parse_webhook(*w);
    if (!hook)
      return hook.error();
    spec.webhook = std::move(*hook);
  }
  if (auto* e = body.if_contains("expires_in_hours"); e && !e->is_null()) {
    if (!e->is_number())
      return wrong_type("expires_in_hours", "a number", *e);
    spec.expires_in_hours = e->to_number<double>();
  }
  if (auto* m = body.if_contains("metadata"); m && !m->is_null()) {
    if (!m->is_object())
      return wrong_type("metadata", "an object", *m);
    spec.metadata_json = json::serialize(*m);
  }
  return spec;
}

outcome<std::string> parse_answer(const json::object& body) {
  json::object answer;
  if (auto* v = body.if_contains("value"))
    answer["value"] = *v;
  if (auto* n = body.if_contains("note"); n && !n->is_null()) {
    if (!n->is_string())
      return wrong_type("note", "a string", *n);
    if (n->as_string().size() > max_note_chars)
      return invalid_field("note must be at most 10000 characters");
    answer["note"] = *n;
  }
  return json::serialize(answer);
}

outcome<recover_request> parse_recover(const json::object& body) {
  auto url = string_at(body, "url", "url");
  if (!url)
    return url.error();
  auto since = string_at(body, "since", "since");
  if (!since)
    return since.error();
  auto t = parse_rfc3339(*since);
  if (!t)
    return invalid_field("since must be an RFC 3339 time such as 2026-05-22T02:00:00Z");
  return recover_request{std::move(*url), *t};
}

} // namespace rundun::api
