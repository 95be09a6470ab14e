#include "api/list_views.hpp"

#include "api/views.hpp"

namespace json = boost::json;

namespace rundun::api {

namespace {

json::value cursor_value(const std::optional<std::string>& c) {
  return c ? json::value(*c) : json::value(nullptr);
}

json::value time_or_null(const std::optional<time_point>& t) {
  return t ? json::value(format_rfc3339(*t)) : json::value(nullptr);
}

} // namespace

json::object run_page_view(const std::vector<run_record>& runs, std::string_view link_base,
                           const std::optional<std::string>& next_cursor) {
  json::array items;
  for (auto& r : runs)
    items.push_back(run_view(r, link_base, false));
  return {{"runs", std::move(items)}, {"next_cursor", cursor_value(next_cursor)}};
}

json::object event_page_view(const std::vector<listed_event>& events,
                             const std::optional<std::string>& next_cursor) {
  json::array items;
  for (auto& e : events) {
    auto o = event_view(e.event);
    o["run_id"] = e.event.run.value;
    o["endpoint"] = e.endpoint_url.empty() ? json::value(nullptr) : json::value(e.endpoint_url);
    items.push_back(std::move(o));
  }
  return {{"events", std::move(items)}, {"next_cursor", cursor_value(next_cursor)}};
}

json::object endpoint_view(const endpoint_health& e) {
  auto& s = e.stats;
  json::value last = nullptr;
  if (s.last_attempt) {
    json::object a{{"at", format_rfc3339(s.last_attempt->at)}};
    if (s.last_attempt->status_code)
      a["status_code"] = *s.last_attempt->status_code;
    if (s.last_attempt->error)
      a["error"] = *s.last_attempt->error;
    last = std::move(a);
  }
  return {{"url", e.url},
          {"pending", s.pending},
          {"in_flight", e.in_flight},
          {"delivered", s.delivered},
          {"failed", s.failed},
          {"last_attempt", std::move(last)},
          {"failing_since", time_or_null(s.failing_since)},
          {"disabled_at", time_or_null(s.disabled_at)},
          {"next_attempt_at", time_or_null(e.next_attempt_at)},
          {"recovering", s.recovering + e.recovery_remaining}};
}

} // namespace rundun::api
