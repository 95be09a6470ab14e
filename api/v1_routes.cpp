// The /v1 routes of contract §2–§7: templates, runs, their cancellation and events, an
// event's redelivery, and photos. Each is one function; the table in `route_v1` says which
// path and method it answers. The lists of §8 are route_lists' (list_routes.cpp).

#include "api/request_parsing.hpp"
#include "api/router_call.hpp"
#include "api/router_responses.hpp"
#include "api/views.hpp"

namespace rundun::api {

struct router::v1_routes {
  static void create_template(call& c) {
    std::optional<idempotency_key> key;
    if (!c.read_idempotency_key(keyed_route::templates, key))
      return;
    auto spec = c.parsed_body(parse_template_spec);
    if (!spec)
      return;
    auto self = c.shared_from_this();
    if (!key)
      return c.owner->engine_.create_template(*spec, [self](outcome<template_record> r) {
        if (!r)
          return self->fail(r.error());
        self->reply_created(template_view(*r), false);
      });
    c.owner->engine_.create_template(*spec, *key, [self](outcome<keyed_answer<template_record>> r) {
      if (!r)
        return self->fail(r.error());
      self->reply_created(template_view(r->created), r->replayed);
    });
  }

  static void get_template(call& c) {
    auto t = c.owner->engine_.get_template(template_id{c.seg[2]});
    return t ? c.reply(200, template_view(*t)) : c.fail(t.error());
  }

  static void create_run(call& c) {
    std::optional<idempotency_key> key;
    if (!c.read_idempotency_key(keyed_route::runs, key))
      return;
    auto spec = c.parsed_body(parse_run_spec);
    if (!spec)
      return;
    auto base = c.owner->cfg_.public_url;
    auto self = c.shared_from_this();
    if (!key)
      return c.owner->engine_.create_run(*spec, [self, base](outcome<created_run> r) {
        if (!r)
          return self->fail(r.error());
        self->reply_created(run_view(r->run, base, r->secret_generated), false);
      });
    c.owner->engine_.create_run(*spec, *key, [self, base](outcome<keyed_answer<created_run>> r) {
      if (!r)
        return self->fail(r.error());
      auto& made = r->created;
      self->reply_created(run_view(made.run, base, made.secret_generated), r->replayed);
    });
  }

  static void get_run(call& c) {
    auto r = c.owner->engine_.get_run(run_id{c.seg[2]});
    return r ? c.reply(200, run_view(*r, c.owner->cfg_.public_url, false)) : c.fail(r.error());
  }

  static void cancel_run(call& c) {
    auto base = c.owner->cfg_.public_url;
    c.owner->engine_.cancel(run_id{c.seg[2]},
                            [self = c.shared_from_this(), base](outcome<run_record> r) {
                              if (!r)
                                return self->fail(r.error());
                              self->reply(200, run_view(*r, base, false));
                            });
  }

  static void run_events(call& c) {
    auto events = c.owner->engine_.get_events(run_id{c.seg[2]});
    return events ? c.reply(200, events_view(*events)) : c.fail(events.error());
  }

  static void redeliver(call& c) {
    auto id = c.seg[2];
    c.owner->engine_.redeliver(
        event_id{id}, [self = c.shared_from_this(), id](outcome<std::monostate> r) {
          if (!r)
            return self->fail(r.error());
          self->reply(202, json::object{{"event_id", id}, {"status", "pending"}});
        });
  }

  static void photo(call& c) {
    auto photo = c.owner->engine_.get_photo(photo_id{c.seg[2]});
    if (!photo)
      return c.fail(photo.error());
    c.send(bytes_response(photo->content_type, "private, max-age=31536000, immutable",
                          std::move(photo->bytes)));
  }
};

void router::route_v1(call& c) {
  if (route_lists(c))
    return;
  using verb = http::verb;
  static const call::route routes[] = {
      {"/v1/templates", verb::post, {}, &v1_routes::create_template},
      {"/v1/templates/{id}", verb::get, {}, &v1_routes::get_template},
      // GET /v1/runs is a list (route_lists), answered before this table.
      {"/v1/runs", verb::post, verb::get, &v1_routes::create_run},
      {"/v1/runs/{id}", verb::get, {}, &v1_routes::get_run},
      {"/v1/runs/{id}/cancel", verb::post, {}, &v1_routes::cancel_run},
      {"/v1/runs/{id}/events", verb::get, {}, &v1_routes::run_events},
      {"/v1/events/{id}/redeliver", verb::post, {}, &v1_routes::redeliver},
      {"/v1/photos/{id}", verb::get, {}, &v1_routes::photo},
  };
  c.dispatch(routes);
}

} // namespace rundun::api
