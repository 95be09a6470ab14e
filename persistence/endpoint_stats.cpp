#include "persistence/endpoint_stats.hpp"

#include <algorithm>

#include <boost/json.hpp>

namespace json = boost::json;

namespace rundun {

namespace {

std::uint64_t* count_of(endpoint_stats& s, delivery_status status) {
  switch (status) {
  case delivery_status::pending:
    return &s.pending;
  case delivery_status::delivered:
    return &s.delivered;
  case delivery_status::failed:
    return &s.failed;
  case delivery_status::not_subscribed:
    break;
  }
  return nullptr;
}

std::uint64_t as_count(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v ? v->to_number<std::uint64_t>() : 0;
}

} // namespace

std::string_view to_string(notice_type t) {
  switch (t) {
  case notice_type::failing:
    return "endpoint.failing";
  case notice_type::disabled:
    return "endpoint.disabled";
  case notice_type::recovered:
    return "endpoint.recovered";
  }
  return "endpoint.failing";
}

bool succeeded(const attempt_record& a) {
  return !a.error && a.status_code && *a.status_code >= 200 && *a.status_code < 300;
}

void account(endpoint_stats& s, const event_record* before, const event_record* after) {
  if (before)
    if (auto* n = count_of(s, before->delivery.status); n && *n > 0)
      --*n;
  if (!after)
    return;
  if (auto* n = count_of(s, after->delivery.status))
    ++*n;
  auto& attempts = after->delivery.attempts;
  std::size_t seen = before ? before->delivery.attempts.size() : 0;
  for (auto i = seen; i < attempts.size(); ++i) {
    auto& a = attempts[i];
    // Attempts of different events end in any order: the last attempt is the latest one.
    if (!s.last_attempt || a.at >= s.last_attempt->at)
      s.last_attempt = a;
    if (succeeded(a)) {
      if (!s.last_success || a.at > *s.last_success)
        s.last_success = a.at;
      if (s.failing_since && a.at >= *s.failing_since) {
        if (s.failing_noticed && !s.disabled_at) {
          s.owed.push_back({notice_type::recovered, a.at, s.failing_since, a, 0});
          s.failing_noticed = false;
        }
        s.failing_since.reset();
      }
    } else if (!s.last_success || a.at > *s.last_success) {
      s.failing_since = s.failing_since ? std::min(*s.failing_since, a.at) : a.at;
    }
  }
  // Failed after its last attempt (a failure without one, such as endpoint_gone or
  // endpoint_disabled, carries its reason in `error`).
  bool exhausted = after->delivery.status == delivery_status::failed &&
                   (!before || before->delivery.status != delivery_status::failed) &&
                   !after->delivery.error && !attempts.empty();
  if (exhausted && s.failing_since && !s.failing_noticed && !s.disabled_at) {
    s.failing_noticed = true;
    s.owed.push_back(
        {notice_type::failing, attempts.back().at, s.failing_since, s.last_attempt, 0});
  }
}

bool disable(endpoint_stats& s, time_point at) {
  if (s.disabled_at)
    return false;
  s.disabled_at = at;
  // A disabled endpoint says so once; its events' failures say nothing more in this run.
  s.failing_noticed = true;
  s.owed.push_back(
      {notice_type::disabled, at, s.failing_since, s.last_attempt, s.failed + s.pending});
  return true;
}

bool enable(endpoint_stats& s, time_point at) {
  if (!s.disabled_at)
    return false;
  s.owed.push_back({notice_type::recovered, at, s.failing_since, s.last_attempt, 0});
  s.disabled_at.reset();
  s.failing_since.reset();
  s.failing_noticed = false;
  return true;
}

std::string encode(const endpoint_stats& s) {
  json::object o{{"p", s.pending}, {"d", s.delivered}, {"f", s.failed}, {"r", s.recovering}};
  if (s.failing_since)
    o["fs"] = to_unix_ms(*s.failing_since);
  if (s.last_success)
    o["ls"] = to_unix_ms(*s.last_success);
  if (s.disabled_at)
    o["da"] = to_unix_ms(*s.disabled_at);
  if (s.failing_noticed)
    o["fn"] = true;
  if (auto& a = s.last_attempt) {
    json::object last{{"at", to_unix_ms(a->at)}, {"ms", a->duration_ms}};
    if (a->status_code)
      last["sc"] = *a->status_code;
    if (a->error)
      last["e"] = *a->error;
    o["la"] = std::move(last);
  }
  return json::serialize(o);
}

std::optional<endpoint_stats> decode_endpoint_stats(std::string_view text) {
  try {
    auto o = json::parse(text).as_object();
    endpoint_stats s;
    s.pending = as_count(o, "p");
    s.delivered = as_count(o, "d");
    s.failed = as_count(o, "f");
    s.recovering = as_count(o, "r");
    if (auto* fs = o.if_contains("fs"))
      s.failing_since = from_unix_ms(fs->to_number<std::int64_t>());
    if (auto* ls = o.if_contains("ls"))
      s.last_success = from_unix_ms(ls->to_number<std::int64_t>());
    if (auto* da = o.if_contains("da"))
      s.disabled_at = from_unix_ms(da->to_number<std::int64_t>());
    if (auto* fn = o.if_contains("fn"))
      s.failing_noticed = fn->is_bool() && fn->as_bool();
    if (auto* la = o.if_contains("la")) {
      auto& l = la->as_object();
      attempt_record a;
      a.at = from_unix_ms(l.at("at").to_number<std::int64_t>());
      a.duration_ms = l.at("ms").to_number<std::int64_t>();
      if (auto* sc = l.if_contains("sc"))
        a.status_code = static_cast<int>(sc->to_number<std::int64_t>());
      if (auto* e = l.if_contains("e"))
        a.error = json::value_to<std::string>(*e);
      s.last_attempt = a;
    }
    return s;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

} // namespace rundun
