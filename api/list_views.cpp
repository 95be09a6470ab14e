#include "api/list_views.hpp"

#include "api/views.hpp"

#include <algorithm>
#include <tuple>

namespace json = boost::json;

namespace rundun::api {

namespace {

json::value cursor_value(const std::optional<std::string>& c) {
  return c ? json::value(*c) : json::value(nullptr);
}

json::value time_or_null(const std::optional<time_point>& t) {
  return t ? json::value(format_rfc3339(*t)) : json::value(nullptr);
}

list_position position_of(const endpoint_health& e) {
  return {failing(e) ? 0 : 1, e.url};
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
          {"next_attempt_at", time_or_null(e.next_attempt_at)},
          {"recovering", s.recovering + e.recovery_remaining}};
}

list_page<endpoint_health> page_endpoints(std::vector<endpoint_health> all,
                                          endpoint_health_filter status, const list_request& r) {
  std::erase_if(all, [&](const endpoint_health& e) {
    return (status == endpoint_health_filter::failing && !failing(e)) ||
           (status == endpoint_health_filter::healthy && failing(e));
  });
  // Compared in place: no copy of a URL per comparison, for thousands of endpoints.
  auto rank = [](const endpoint_health& e) -> std::int64_t { return failing(e) ? 0 : 1; };
  std::sort(all.begin(), all.end(), [&](const endpoint_health& a, const endpoint_health& b) {
    return std::forward_as_tuple(rank(a), a.url) < std::forward_as_tuple(rank(b), b.url);
  });
  auto past_cursor = [&](const endpoint_health& e) {
    return !r.after ||
           std::forward_as_tuple(rank(e), e.url) > std::forward_as_tuple(r.after->ms, r.after->id);
  };
  list_page<endpoint_health> page;
  for (auto& e : all) {
    if (!past_cursor(e))
      continue;
    if (page.items.size() == r.limit) {
      page.next = position_of(page.items.back());
      break;
    }
    page.items.push_back(std::move(e));
  }
  return page;
}

} // namespace rundun::api
