#include "api/list_merge.hpp"

#include "persistence/clock.hpp"

#include <algorithm>
#include <map>
#include <tuple>

#include <boost/json.hpp>

namespace json = boost::json;

namespace rundun::api {

namespace {

/// The answer's `unavailable_nodes`, when some node could not be asked.
void name_unavailable(json::object& out, const std::vector<node_answer>& answers) {
  json::array missing;
  for (auto& a : answers)
    if (!a.body)
      missing.push_back(json::value(a.node));
  if (!missing.empty())
    out["unavailable_nodes"] = std::move(missing);
}

std::optional<list_position> position_of(const json::value& item, std::string_view id_field) {
  auto* o = item.if_object();
  if (!o)
    return std::nullopt;
  auto* at = o->if_contains("created_at");
  auto* id = o->if_contains(id_field);
  if (!at || !id || !at->is_string() || !id->is_string())
    return std::nullopt;
  auto t = parse_rfc3339(at->as_string());
  if (!t)
    return std::nullopt;
  return list_position{to_unix_ms(*t), std::string(id->as_string())};
}

std::uint64_t count_of(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_number() ? v->to_number<std::uint64_t>() : 0;
}

/// An optional time (RFC 3339 text, all in UTC with a `Z`, so they compare as text).
std::optional<std::string> time_at(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (!v || !v->is_string())
    return std::nullopt;
  return std::string(v->as_string());
}

std::optional<std::string> attempt_time(const json::object& o) {
  auto* a = o.if_contains("last_attempt");
  return a && a->is_object() ? time_at(a->as_object(), "at") : std::nullopt;
}

bool attempt_succeeded(const json::object& o) {
  auto* a = o.if_contains("last_attempt");
  if (!a || !a->is_object() || a->as_object().contains("error"))
    return false;
  auto* code = a->as_object().if_contains("status_code");
  return code && code->is_number() && code->to_number<int>() / 100 == 2;
}

json::value time_or_null(const std::optional<std::string>& t) {
  return t ? json::value(*t) : json::value(nullptr);
}

/// Adds another node's figures of one endpoint to `into`.
void fold(json::object& into, const json::object& other) {
  for (auto key : {"pending", "in_flight", "delivered", "failed", "recovering"})
    into[key] = count_of(into, key) + count_of(other, key);
  auto next = time_at(into, "next_attempt_at"), theirs = time_at(other, "next_attempt_at");
  if (theirs && (!next || *theirs < *next))
    into["next_attempt_at"] = *theirs;
  auto last = attempt_time(into), their_last = attempt_time(other);
  if (their_last && (!last || *their_last > *last))
    into["last_attempt"] = other.at("last_attempt");
  // Failing since the earlier start of a run of failures, unless the latest attempt of all
  // succeeded: then the URL answers again.
  auto since = time_at(into, "failing_since"), their_since = time_at(other, "failing_since");
  if (their_since && (!since || *their_since < *since))
    since = their_since;
  into["failing_since"] = attempt_succeeded(into) ? json::value(nullptr) : time_or_null(since);
  // Each node disables the URL for its own runs: disabled where the first node did.
  auto disabled = time_at(into, "disabled_at"), their_disabled = time_at(other, "disabled_at");
  if (their_disabled && (!disabled || *their_disabled < *disabled))
    into["disabled_at"] = *their_disabled;
}

/// The rank of a merged endpoint, as one node ranks its figures (persistence/listing.hpp).
endpoint_rank merged_rank(json::object& e) {
  if (auto* d = e.if_contains("disabled_at"); d && d->is_string())
    return endpoint_rank::disabled;
  return e["failing_since"].is_string() ? endpoint_rank::failing : endpoint_rank::healthy;
}

} // namespace

json::object merge_item_pages(list_kind kind, const std::string& items,
                              const std::vector<node_answer>& answers, const page_params& page,
                              const cursor_codec& cursors) {
  std::string_view id_field = kind == list_kind::events ? "event_id" : "id";
  std::vector<std::pair<list_position, json::value>> all;
  // Where the newest stop of a node's page lies: nothing older is known for that node.
  std::optional<list_position> frontier;
  for (auto& a : answers) {
    if (!a.body)
      continue;
    if (auto* list = a.body->if_contains(items); list && list->is_array())
      for (auto& item : list->as_array())
        if (auto at = position_of(item, id_field))
          all.emplace_back(std::move(*at), item);
    auto* next = a.body->if_contains("next_cursor");
    if (next && next->is_string())
      if (auto stop = cursors.decode(kind, page.filters, next->as_string()))
        if (!frontier || lists_before(*stop, *frontier))
          frontier = std::move(*stop);
  }
  std::sort(all.begin(), all.end(),
            [](const auto& a, const auto& b) { return lists_before(a.first, b.first); });
  if (frontier)
    std::erase_if(all, [&](const auto& x) { return lists_before(*frontier, x.first); });
  std::optional<list_position> next = frontier;
  if (all.size() > page.request.limit) {
    all.resize(page.request.limit);
    next = all.back().first;
  }
  json::array out;
  for (auto& [at, item] : all)
    out.push_back(std::move(item));
  json::object body{{items, std::move(out)},
                    {"next_cursor", next ? json::value(cursors.encode(kind, page.filters, *next))
                                         : json::value(nullptr)}};
  name_unavailable(body, answers);
  return body;
}

json::object merge_endpoints(const std::vector<node_answer>& answers,
                             const endpoint_list_params& params, const cursor_codec& cursors) {
  std::map<std::string, json::object> by_url;
  for (auto& a : answers) {
    if (!a.body)
      continue;
    auto* list = a.body->if_contains("endpoints");
    if (!list || !list->is_array())
      continue;
    for (auto& item : list->as_array()) {
      auto* e = item.if_object();
      if (!e || !e->if_contains("url") || !e->at("url").is_string())
        continue;
      auto [it, fresh] = by_url.emplace(std::string(e->at("url").as_string()), *e);
      if (fresh)
        continue;
      fold(it->second, *e);
    }
  }
  // Ranked and positioned as one node ranks them (persistence/listing.hpp), by the merged
  // figures: an endpoint failing on one node and healthy on another is failing, unless the
  // latest attempt of all succeeded (see `fold`).
  auto only = rank_filter(params.status);
  std::vector<std::pair<list_position, json::object>> merged;
  for (auto& [url, e] : by_url) {
    auto rank = merged_rank(e);
    if (only && rank != *only)
      continue;
    merged.emplace_back(endpoint_position(rank, url), std::move(e));
  }
  auto order = [](const list_position& a, const list_position& b) {
    return std::tie(a.ms, a.id) < std::tie(b.ms, b.id);
  };
  std::sort(merged.begin(), merged.end(),
            [&](const auto& a, const auto& b) { return order(a.first, b.first); });
  json::array out;
  std::optional<list_position> next, last;
  auto& r = params.page.request;
  for (auto& [at, e] : merged) {
    if (r.after && !order(*r.after, at))
      continue;
    if (out.size() == r.limit) {
      next = std::move(last);
      break;
    }
    out.push_back(std::move(e));
    last = at;
  }
  json::object body{{"endpoints", std::move(out)},
                    {"next_cursor", next ? json::value(cursors.encode(list_kind::endpoints,
                                                                      params.page.filters, *next))
                                         : json::value(nullptr)}};
  name_unavailable(body, answers);
  return body;
}

json::object merge_recoveries(const std::vector<node_answer>& answers, bool& found) {
  found = false;
  std::uint64_t recovering = 0, skipped = 0;
  for (auto& a : answers) {
    if (!a.body || !a.body->contains("recovering"))
      continue;
    found = true;
    recovering += count_of(*a.body, "recovering");
    skipped += count_of(*a.body, "skipped_webhook_disabled");
  }
  json::object body{{"recovering", recovering}, {"skipped_webhook_disabled", skipped}};
  name_unavailable(body, answers);
  return body;
}

const node_answer* recovery_refusal(const std::vector<node_answer>& answers) {
  constexpr unsigned started = 202, unknown_url = 404, still_running = 409;
  const node_answer* first = nullptr;
  for (auto& a : answers) {
    if (!a.body || a.status == started || a.status == unknown_url)
      continue;
    if (a.status == still_running)
      return &a;
    if (!first)
      first = &a;
  }
  return first;
}

} // namespace rundun::api
