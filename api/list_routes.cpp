// The routes of contract §8: the lists of runs, events and endpoints, and the recovery of an
// endpoint's failed events. Each list reads the store on the calling io thread, as the
// other GET routes do: a page is bounded by its scan budget (persistence/listing.hpp).

#include "api/list_params.hpp"
#include "api/list_views.hpp"
#include "api/request_parsing.hpp"
#include "api/router_call.hpp"

namespace rundun::api {

namespace {

std::optional<std::string> cursor_after(const cursor_codec& cursors, list_kind kind,
                                        const page_params& page,
                                        const std::optional<list_position>& next) {
  if (!next)
    return std::nullopt;
  return cursors.encode(kind, page.filters, *next);
}

} // namespace

bool router::route_lists(call& c) {
  auto& s = c.seg;
  auto n = s.size();
  bool get = c.req.method() == http::verb::get;
  auto refuse = [&c](const domain_error& e) {
    c.fail(e);
    return true;
  };
  if (n == 2 && s[1] == "runs" && get) {
    c.pattern = "/v1/runs";
    auto p = parse_run_list(c.req.target(), cursors_);
    if (!p)
      return refuse(p.error());
    auto page = engine_.list_runs(p->filter, p->page.request);
    if (!page)
      return refuse(page.error());
    c.reply(200, run_page_view(page->items, cfg_.public_url,
                               cursor_after(cursors_, list_kind::runs, p->page, page->next)));
    return true;
  }
  if (n == 2 && s[1] == "events") {
    c.pattern = "/v1/events";
    if (!c.method_is(http::verb::get))
      return true;
    auto p = parse_event_list(c.req.target(), cursors_);
    if (!p)
      return refuse(p.error());
    if (p->endpoint_url) {
      auto key = engine_.endpoint_key(*p->endpoint_url);
      if (!key)
        return refuse(key.error());
      p->filter.endpoint = std::move(*key);
    }
    auto page = engine_.list_events(p->filter, p->page.request);
    if (!page)
      return refuse(page.error());
    c.reply(200, event_page_view(page->items,
                                 cursor_after(cursors_, list_kind::events, p->page, page->next)));
    return true;
  }
  if (n == 2 && s[1] == "endpoints") {
    c.pattern = "/v1/endpoints";
    if (!c.method_is(http::verb::get))
      return true;
    auto p = parse_endpoint_list(c.req.target(), cursors_);
    if (!p)
      return refuse(p.error());
    auto page = engine_.list_endpoints(rank_filter(p->status), p->page.request);
    if (!page)
      return refuse(page.error());
    json::array items;
    for (auto& e : page->items)
      items.push_back(endpoint_view(e));
    auto next = cursor_after(cursors_, list_kind::endpoints, p->page, page->next);
    c.reply(200, json::object{{"endpoints", std::move(items)},
                              {"next_cursor", next ? json::value(*next) : json::value(nullptr)}});
    return true;
  }
  if (n == 3 && s[1] == "endpoints" && s[2] == "recover") {
    c.pattern = "/v1/endpoints/recover";
    if (!c.method_is(http::verb::post))
      return true;
    auto body = c.body_object(false);
    if (!body)
      return true;
    auto spec = parse_recover(*body);
    if (!spec)
      return refuse(spec.error());
    auto self = c.shared_from_this();
    engine_.recover(spec->url, spec->since, [self](outcome<recovery_started> r) {
      if (!r)
        return self->fail(r.error());
      self->reply(202, json::object{{"recovering", r->recovering},
                                    {"skipped_webhook_disabled", r->skipped_webhook_disabled}});
    });
    return true;
  }
  return false;
}

} // namespace rundun::api
