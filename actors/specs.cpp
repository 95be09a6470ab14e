#include "actors/specs.hpp"

#include "net/destination_guard.hpp"
#include "net/signature.hpp"
#include "net/url.hpp"

#include <cmath>
#include <set>

#include <boost/json.hpp>

namespace rundun {

namespace {

bool valid_step_id(std::string_view id) {
  if (id.empty() || id.size() > max_step_id_chars)
    return false;
  for (char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
      return false;
  return true;
}

std::string event_type_list() {
  std::string out;
  for (auto t : all_event_types)
    out += (out.empty() ? "" : ", ") + std::string(to_string(t));
  return out;
}

} // namespace

std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xc0) != 0x80)
      ++n;
  return n;
}

outcome<template_record> make_template(const template_spec& spec, time_point now,
                                       const id_minter& ids) {
  auto name_len = utf8_length(spec.name);
  if (name_len == 0 || name_len > max_name_chars)
    return invalid_field("name must be 1 to 200 characters, got " + std::to_string(name_len));
  if (spec.steps.empty() || spec.steps.size() > max_steps)
    return invalid_field("steps must have 1 to 200 items, got " +
                         std::to_string(spec.steps.size()));
  template_record rec{ids.template_(), spec.name, {}, now};
  std::set<std::string> seen;
  for (std::size_t i = 0; i < spec.steps.size(); ++i) {
    auto& s = spec.steps[i];
    auto field = "steps[" + std::to_string(i) + "].";
    step_def def;
    def.id = s.id.value_or("step-" + std::to_string(i + 1));
    if (!valid_step_id(def.id))
      return invalid_field(field + "id must match [a-z0-9_-]{1,64}");
    if (!seen.insert(def.id).second)
      return invalid_field(field + "id '" + def.id + "' is used by another step");
    auto title_len = utf8_length(s.title);
    if (title_len == 0 || title_len > max_title_chars)
      return invalid_field(field + "title must be 1 to 200 characters, got " +
                           std::to_string(title_len));
    def.title = s.title;
    def.required = s.required.value_or(true);
    def.photos_required = s.photos_required.value_or(0);
    if (def.photos_required < 0 || def.photos_required > static_cast<int>(max_photos_per_step))
      return invalid_field(field + "photos_required must be 0 to 20, got " +
                           std::to_string(def.photos_required));
    rec.steps.push_back(std::move(def));
  }
  return rec;
}

outcome<checked_webhook> check_webhook(const webhook_spec& spec, bool allow_private) {
  checked_webhook out;
  auto u = net::parse_url(spec.url);
  if (!u)
    return invalid_field("webhook.url " + u.error().message());
  if (auto ip = net::parse_ip_literal(u->host); ip && !allow_private && !net::is_public(*ip))
    return domain_error{error_kind::invalid_input,
                        "destination_not_allowed",
                        "webhook.url points at a non-public address (" + ip->to_string() +
                            "); loopback, private, link-local and reserved addresses need "
                            "--allow-private-destinations",
                        {}};
  out.config.url = spec.url;
  if (spec.events) {
    for (std::size_t i = 0; i < spec.events->size(); ++i) {
      auto t = parse_event_type((*spec.events)[i]);
      if (!t)
        return invalid_field("webhook.events[" + std::to_string(i) + "] must be one of " +
                             event_type_list());
      if (!out.config.subscribes_to(*t))
        out.config.events.push_back(*t);
    }
  } else {
    out.config.events.assign(all_event_types.begin(), all_event_types.end());
  }
  if (spec.secret) {
    if (!net::parse_secret(*spec.secret))
      return domain_error{error_kind::invalid_input,
                          "invalid_secret",
                          "webhook.secret must be whsec_ followed by the standard base64 of 24 "
                          "to 64 bytes",
                          {}};
    out.config.secret = *spec.secret;
  } else {
    out.config.secret = net::make_secret();
    out.secret_generated = true;
  }
  return out;
}

outcome<run_record> make_run(const run_spec& spec, const template_record& tmpl, time_point now,
                             const id_minter& ids) {
  if (!std::isfinite(spec.expires_in_hours) || spec.expires_in_hours <= 0 ||
      spec.expires_in_hours > max_expires_in_hours)
    return invalid_field("expires_in_hours must be > 0 and <= 720, got " +
                         std::to_string(spec.expires_in_hours));
  if (spec.metadata_json.size() > max_metadata_bytes)
    return invalid_field("metadata must be at most 16384 bytes serialised, got " +
                         std::to_string(spec.metadata_json.size()));
  run_record run;
  run.id = ids.run();
  run.source_template = tmpl.id;
  run.template_name = tmpl.name;
  run.token = ids.link_token();
  run.created_at = now;
  auto lifetime = std::chrono::duration<double, std::ratio<3600>>(spec.expires_in_hours);
  run.expires_at = now + std::chrono::duration_cast<std::chrono::milliseconds>(lifetime);
  // Checked and made compact once, here: every event of the run splices it in as it is.
  boost::system::error_code ec;
  auto metadata = boost::json::parse(spec.metadata_json, ec);
  if (ec || !metadata.is_object())
    return invalid_field("metadata must be a JSON object");
  run.metadata_json = boost::json::serialize(metadata);
  for (auto& def : tmpl.steps)
    run.steps.push_back(step_state{def, step_status::pending, {}, {}, {}, {}});
  return run;
}

} // namespace rundun
