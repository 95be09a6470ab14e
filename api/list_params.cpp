#include "api/list_params.hpp"

#include <charconv>
#include <map>

#include <boost/url/parse.hpp>

namespace rundun::api {

namespace {

using params = std::map<std::string, std::string>;

/// The decoded query parameters of `target`, each at most once, each one of `allowed`.
outcome<params> read_query(std::string_view target,
                           std::initializer_list<std::string_view> allowed) {
  auto u = boost::urls::parse_origin_form(target);
  if (!u)
    return invalid_field("the query string is not valid: " + u.error().message());
  params out;
  for (auto p : u->params()) {
    std::string names;
    bool known = false;
    for (auto a : allowed) {
      known = known || a == p.key;
      names += (names.empty() ? "" : ", ") + std::string(a);
    }
    if (!known)
      return invalid_field("unknown query parameter " + p.key + "; this list takes " + names);
    if (!out.emplace(p.key, p.value).second)
      return invalid_field(p.key + " is given more than once; give it once");
  }
  return out;
}

std::string quoted(std::string_view value) {
  constexpr std::size_t shown = 100;
  return "\"" + std::string(value.substr(0, shown)) + (value.size() > shown ? "…" : "") + "\"";
}

/// `text` with the characters that the canonical filter text uses as separators (`&`, `=`)
/// and its escape (`%`) percent-encoded, so that one value can never read as two filters:
/// `endpoint=A%26status%3Dfailed` and `endpoint=A&status=failed` are different filters, and
/// their cursors differ too. Text without those characters stays as it is.
std::string escaped(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '%' || c == '&' || c == '=') {
      constexpr char hex[] = "0123456789ABCDEF";
      out += '%';
      out += hex[static_cast<unsigned char>(c) >> 4];
      out += hex[static_cast<unsigned char>(c) & 0xf];
    } else {
      out += c;
    }
  }
  return out;
}

/// `limit`, `cursor` and the canonical filter text; `filters` are the other parameters.
outcome<page_params> read_page(params& p, list_kind kind, const cursor_codec& cursors) {
  page_params out;
  out.request.limit = default_list_limit;
  if (auto it = p.find("limit"); it != p.end()) {
    auto& v = it->second;
    std::size_t n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc{} || end != v.data() + v.size() || n < min_list_limit || n > max_list_limit)
      return invalid_field("limit must be a whole number from 1 to 500, got " + quoted(v));
    out.request.limit = n;
    p.erase(it);
  }
  std::optional<std::string> cursor;
  if (auto it = p.find("cursor"); it != p.end()) {
    cursor = std::move(it->second);
    p.erase(it);
  }
  for (auto& [name, value] : p)
    out.filters += (out.filters.empty() ? "" : "&") + escaped(name) + "=" + escaped(value);
  if (cursor) {
    auto at = cursors.decode(kind, out.filters, *cursor);
    if (!at)
      return domain_error{error_kind::invalid_input,
                          "invalid_cursor",
                          "cursor is not one this list gave with these filters; pass the "
                          "next_cursor of the previous page, with the same filters",
                          {}};
    out.request.after = std::move(*at);
  }
  return out;
}

outcome<std::optional<time_point>> read_time(const params& p, const std::string& name) {
  auto it = p.find(name);
  if (it == p.end())
    return std::optional<time_point>{};
  auto t = parse_rfc3339(it->second);
  if (!t)
    return invalid_field(name + " must be an RFC 3339 time such as 2026-05-22T08:32:00Z, got " +
                         quoted(it->second));
  return std::optional<time_point>{*t};
}

/// Reads the enum parameter `name` as one of `names` (whose index is the enum's value).
template <class Enum, std::size_t N>
outcome<std::optional<Enum>> read_choice(const params& p, const std::string& name,
                                         const std::array<std::string_view, N>& names) {
  auto it = p.find(name);
  if (it == p.end())
    return std::optional<Enum>{};
  std::string all;
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == it->second)
      return std::optional<Enum>{static_cast<Enum>(i)};
    all += (i ? ", " : "") + std::string(names[i]);
  }
  return invalid_field(name + " must be one of " + all + ", got " + quoted(it->second));
}

outcome<std::optional<std::string>> read_text(const params& p, const std::string& name) {
  constexpr std::size_t max_text = 2048;
  auto it = p.find(name);
  if (it == p.end())
    return std::optional<std::string>{};
  if (it->second.empty() || it->second.size() > max_text)
    return invalid_field(name + " must not be empty and at most 2048 characters long");
  return std::optional<std::string>{it->second};
}

/// `created_after` and `created_before` into `after` and `before`, checked together.
std::optional<domain_error> read_window(const params& p, std::optional<time_point>& after,
                                        std::optional<time_point>& before) {
  auto a = read_time(p, "created_after");
  if (!a)
    return a.error();
  auto b = read_time(p, "created_before");
  if (!b)
    return b.error();
  if (*a && *b && **a >= **b)
    return invalid_field("created_after must be earlier than created_before");
  after = *a;
  before = *b;
  return std::nullopt;
}

constexpr std::array<std::string_view, 4> run_statuses{"active", "completed", "cancelled",
                                                       "expired"};
constexpr std::array<std::string_view, 4> delivery_statuses{"pending", "delivered", "failed",
                                                            "not_subscribed"};
constexpr std::array<std::string_view, 3> health_statuses{"failing", "healthy", "disabled"};

} // namespace

outcome<run_list_params> parse_run_list(std::string_view target, const cursor_codec& cursors) {
  auto p = read_query(
      target, {"status", "template_id", "created_after", "created_before", "limit", "cursor"});
  if (!p)
    return p.error();
  run_list_params out;
  auto status = read_choice<run_status>(*p, "status", run_statuses);
  if (!status)
    return status.error();
  out.filter.status = *status;
  auto tmpl = read_text(*p, "template_id");
  if (!tmpl)
    return tmpl.error();
  if (*tmpl)
    out.filter.template_id_ = template_id{**tmpl};
  if (auto bad = read_window(*p, out.filter.created_after, out.filter.created_before))
    return *bad;
  auto page = read_page(*p, list_kind::runs, cursors);
  if (!page)
    return page.error();
  out.page = std::move(*page);
  return out;
}

outcome<event_list_params> parse_event_list(std::string_view target, const cursor_codec& cursors) {
  auto p = read_query(target, {"status", "type", "run_id", "endpoint", "created_after",
                               "created_before", "limit", "cursor"});
  if (!p)
    return p.error();
  event_list_params out;
  auto status = read_choice<delivery_status>(*p, "status", delivery_statuses);
  if (!status)
    return status.error();
  out.filter.status = *status;
  if (auto it = p->find("type"); it != p->end()) {
    auto type = parse_event_type(it->second);
    if (!type)
      return invalid_field("type must be one of step.completed, step.skipped, run.completed, "
                           "run.cancelled, run.expired, got " +
                           quoted(it->second));
    out.filter.type = *type;
  }
  auto run = read_text(*p, "run_id");
  if (!run)
    return run.error();
  if (*run)
    out.filter.run = run_id{**run};
  auto endpoint = read_text(*p, "endpoint");
  if (!endpoint)
    return endpoint.error();
  out.endpoint_url = *endpoint;
  if (auto bad = read_window(*p, out.filter.created_after, out.filter.created_before))
    return *bad;
  auto page = read_page(*p, list_kind::events, cursors);
  if (!page)
    return page.error();
  out.page = std::move(*page);
  return out;
}

outcome<endpoint_list_params> parse_endpoint_list(std::string_view target,
                                                  const cursor_codec& cursors) {
  auto p = read_query(target, {"status", "limit", "cursor"});
  if (!p)
    return p.error();
  endpoint_list_params out;
  // In the order of health_statuses.
  enum class health { failing, healthy, disabled };
  auto status = read_choice<health>(*p, "status", health_statuses);
  if (!status)
    return status.error();
  if (*status)
    switch (**status) {
    case health::failing:
      out.status = endpoint_health_filter::failing;
      break;
    case health::healthy:
      out.status = endpoint_health_filter::healthy;
      break;
    case health::disabled:
      out.status = endpoint_health_filter::disabled;
      break;
    }
  auto page = read_page(*p, list_kind::endpoints, cursors);
  if (!page)
    return page.error();
  out.page = std::move(*page);
  return out;
}

std::optional<endpoint_rank> rank_filter(endpoint_health_filter status) {
  switch (status) {
  case endpoint_health_filter::failing:
    return endpoint_rank::failing;
  case endpoint_health_filter::healthy:
    return endpoint_rank::healthy;
  case endpoint_health_filter::disabled:
    return endpoint_rank::disabled;
  case endpoint_health_filter::any:
    break;
  }
  return std::nullopt;
}

} // namespace rundun::api
