#include "api/router.hpp"

#include "api/api_key.hpp"
#include "api/error_response.hpp"
#include "api/metrics_text.hpp"
#include "api/page_assets.hpp"
#include "api/request_parsing.hpp"
#include "api/router_call.hpp"
#include "api/views.hpp"

#include <boost/beast/http.hpp>
#include <boost/json.hpp>

namespace rundun::api {

namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

/// The Retry-After of a 503 for a full queue: queues drain in well under a second.
constexpr int overloaded_retry_after_seconds = 1;
/// The Retry-After of a 503 for a run whose node cannot be reached: a restarted node is
/// dialled again within a second or two.
constexpr int unavailable_retry_after_seconds = 2;

std::vector<std::string> split_path(std::string_view target) {
  auto path = target.substr(0, target.find('?'));
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    auto j = path.find('/', i);
    out.emplace_back(path.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i));
    if (j == std::string_view::npos)
      break;
    i = j;
  }
  return out;
}

unsigned status_of(const domain_error& e) {
  switch (e.kind) {
  case error_kind::invalid_input:
    return 400;
  case error_kind::not_found:
    return 404;
  case error_kind::conflict:
    return 409;
  case error_kind::gone:
    return 410;
  case error_kind::unsupported:
    return 415;
  case error_kind::storage:
    return 500;
  case error_kind::overloaded:
  case error_kind::unavailable:
    return 503;
  }
  return 500;
}

} // namespace

router::router(engine& e, router_config cfg)
    : engine_(e), cfg_(std::move(cfg)), cursors_(cfg_.api_key_hash) {}

std::uint64_t router::body_limit(std::string_view target) {
  return request_body_limit(target);
}

std::optional<net::http_response> router::screen(const net::request_header& h, token_scope tokens) {
  auto started = std::chrono::steady_clock::now();
  auto counted = [&](const std::string& pattern, net::http_response res) {
    metrics_.count(pattern, res.result_int(),
                   std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::steady_clock::now() - started));
    return res;
  };
  auto s = split_path(h.target());
  // The same checks as `route`, on the headers alone.
  if (!s.empty() && s[0] == "v1") {
    if (auto refused = unauthorized(h, cfg_.api_key_hash))
      return counted("/v1/*", std::move(*refused));
    return std::nullopt;
  }
  if (s.size() >= 2 && s[0] == "r" && tokens == token_scope::this_node) {
    // Every link route answers 404 for a token that no run has: its body would be read for
    // nothing. A failed read is the router's to answer.
    auto run = engine_.get_run_by_token(s[1]);
    if (!run && run.error().kind == error_kind::not_found)
      return counted("/r/{token}/*", refusal(run.error()));
  }
  return std::nullopt;
}

std::optional<net::http_response> router::unauthorized(const net::request_header& req,
                                                       std::string_view api_key_hash) {
  auto auth = req[http::field::authorization];
  constexpr std::string_view bearer = "Bearer ";
  if (auth.starts_with(bearer) && api_key_matches(auth.substr(bearer.size()), api_key_hash))
    return std::nullopt;
  auto res = error_response(401, "unauthorized",
                            "a valid API key is required: Authorization: Bearer <api key>");
  res.set(http::field::www_authenticate, "Bearer");
  return res;
}

net::http_response router::error_response(unsigned status, std::string code, std::string message) {
  return make_error_response(status, code, message);
}

net::http_response router::refusal(const domain_error& e) {
  auto status = status_of(e);
  net::http_response res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.body() = json::serialize(error_body(e.code, e.message, e.steps));
  // A 503 changed nothing, and the client may try again shortly.
  if (e.kind == error_kind::overloaded)
    res.set(http::field::retry_after, std::to_string(overloaded_retry_after_seconds));
  else if (e.kind == error_kind::unavailable)
    res.set(http::field::retry_after, std::to_string(unavailable_retry_after_seconds));
  return res;
}

void router::handle(net::http_request&& req, net::responder respond) {
  auto c = std::make_shared<call>();
  c->owner = this;
  c->seg = split_path(req.target());
  c->req = std::move(req);
  c->respond = std::move(respond);
  route(*c);
}

void router::route(call& c) {
  auto& s = c.seg;
  if (s.size() == 1 && s[0] == "healthz") {
    c.pattern = "/healthz";
    if (!c.method_is(http::verb::get))
      return;
    if (!ready_)
      return c.error(503, "starting", "the server is starting");
    if (auto failure = engine_.store_failure())
      return c.error(503, "store_failed", *failure);
    return c.reply(200, json::object{{"status", "ok"}});
  }
  if (s.size() == 1 && s[0] == "metrics") {
    c.pattern = "/metrics";
    if (!c.method_is(http::verb::get))
      return;
    net::http_response res{http::status::ok, 11};
    res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.body() = metrics_text();
    return c.send(std::move(res));
  }
  if (!s.empty() && s[0] == "v1") {
    // Authentication comes before routing: an unknown /v1 path without a key is 401.
    if (auto refused = unauthorized(c.req, cfg_.api_key_hash)) {
      c.pattern = "/v1/*";
      return c.send(std::move(*refused));
    }
    return route_v1(c);
  }
  if (s.size() >= 2 && s[0] == "r")
    return route_link(c);
  if (s.size() == 2 && s[0] == "assets")
    return route_asset(c);
  if (s.size() == 1 && s[0] == "console")
    return route_console(c);
  c.not_found_route();
}

void router::route_asset(call& c) {
  c.pattern = "/assets/{file}";
  struct asset {
    std::string_view name, type, body;
  };
  const asset files[] = {{"executor.js", "text/javascript; charset=utf-8", executor_js()},
                         {"executor.css", "text/css; charset=utf-8", executor_css()},
                         {"console.js", "text/javascript; charset=utf-8", console_js()},
                         {"console.css", "text/css; charset=utf-8", console_css()}};
  for (auto [name, type, body] : files) {
    if (c.seg[1] != name)
      continue;
    if (!c.method_is(http::verb::get))
      return;
    net::http_response res{http::status::ok, 11};
    res.set(http::field::content_type, type);
    // Revalidated on each load, so that a new binary's page never runs with an old script.
    res.set(http::field::cache_control, "no-cache");
    res.set("X-Content-Type-Options", "nosniff");
    res.body() = std::string(body);
    return c.send(std::move(res));
  }
  c.not_found_route();
}

void router::route_console(call& c) {
  c.pattern = "/console";
  if (!c.method_is(http::verb::get))
    return;
  net::http_response res{http::status::ok, 11};
  res.set(http::field::content_type, "text/html; charset=utf-8");
  res.set(http::field::cache_control, "no-cache");
  // The page holds no data: its script asks for the key and calls /v1 on this origin only.
  // No inline script, no other origin, no framing, no referrer.
  res.set("Referrer-Policy", "no-referrer");
  res.set("Content-Security-Policy",
          "default-src 'none'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
          "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
  res.set("X-Content-Type-Options", "nosniff");
  res.body() = std::string(console_html());
  c.send(std::move(res));
}

void router::route_v1(call& c) {
  if (route_lists(c))
    return;
  auto& s = c.seg;
  auto self = c.shared_from_this();
  auto n = s.size();
  if (n == 2 && s[1] == "templates") {
    c.pattern = "/v1/templates";
    if (!c.method_is(http::verb::post))
      return;
    auto body = c.body_object(false);
    if (!body)
      return;
    auto spec = parse_template_spec(*body);
    if (!spec)
      return c.fail(spec.error());
    return engine_.create_template(*spec, [self](outcome<template_record> r) {
      if (!r)
        return self->fail(r.error());
      self->reply(201, template_view(*r));
    });
  }
  if (n == 3 && s[1] == "templates") {
    c.pattern = "/v1/templates/{id}";
    if (!c.method_is(http::verb::get))
      return;
    auto t = engine_.get_template(template_id{s[2]});
    return t ? c.reply(200, template_view(*t)) : c.fail(t.error());
  }
  if (n == 2 && s[1] == "runs") {
    c.pattern = "/v1/runs";
    if (!c.method_is(http::verb::post, http::verb::get)) // GET: route_lists
      return;
    auto body = c.body_object(false);
    if (!body)
      return;
    auto spec = parse_run_spec(*body);
    if (!spec)
      return c.fail(spec.error());
    auto base = cfg_.public_url;
    return engine_.create_run(*spec, [self, base](outcome<created_run> r) {
      if (!r)
        return self->fail(r.error());
      self->reply(201, run_view(r->run, base, r->secret_generated));
    });
  }
  if (n == 3 && s[1] == "runs") {
    c.pattern = "/v1/runs/{id}";
    if (!c.method_is(http::verb::get))
      return;
    auto r = engine_.get_run(run_id{s[2]});
    return r ? c.reply(200, run_view(*r, cfg_.public_url, false)) : c.fail(r.error());
  }
  if (n == 4 && s[1] == "runs" && s[3] == "cancel") {
    c.pattern = "/v1/runs/{id}/cancel";
    if (!c.method_is(http::verb::post))
      return;
    auto base = cfg_.public_url;
    return engine_.cancel(run_id{s[2]}, [self, base](outcome<run_record> r) {
      if (!r)
        return self->fail(r.error());
      self->reply(200, run_view(*r, base, false));
    });
  }
  if (n == 4 && s[1] == "runs" && s[3] == "events") {
    c.pattern = "/v1/runs/{id}/events";
    if (!c.method_is(http::verb::get))
      return;
    auto events = engine_.get_events(run_id{s[2]});
    return events ? c.reply(200, events_view(*events)) : c.fail(events.error());
  }
  if (n == 4 && s[1] == "events" && s[3] == "redeliver") {
    c.pattern = "/v1/events/{id}/redeliver";
    if (!c.method_is(http::verb::post))
      return;
    auto id = s[2];
    return engine_.redeliver(event_id{id}, [self, id](outcome<std::monostate> r) {
      if (!r)
        return self->fail(r.error());
      self->reply(202, json::object{{"event_id", id}, {"status", "pending"}});
    });
  }
  if (n == 3 && s[1] == "photos") {
    c.pattern = "/v1/photos/{id}";
    if (!c.method_is(http::verb::get))
      return;
    auto photo = engine_.get_photo(photo_id{s[2]});
    if (!photo)
      return c.fail(photo.error());
    net::http_response res{http::status::ok, 11};
    res.set(http::field::content_type, photo->content_type);
    res.set(http::field::cache_control, "private, max-age=31536000, immutable");
    // The bytes are the uploader's: a browser must not read a "JPEG" as HTML or script.
    res.set("X-Content-Type-Options", "nosniff");
    res.body() = std::move(photo->bytes);
    return c.send(std::move(res));
  }
  c.not_found_route();
}

void router::route_link(call& c) {
  auto& s = c.seg;
  auto self = c.shared_from_this();
  auto n = s.size();
  auto token = s[1];
  if (n == 2) {
    c.pattern = "/r/{token}";
    if (!c.method_is(http::verb::get))
      return;
    auto run = engine_.get_run_by_token(token);
    net::http_response res{run ? http::status::ok : http::status::not_found, 11};
    if (!run && run.error().kind != error_kind::not_found)
      return c.fail(run.error());
    res.set(http::field::content_type, "text/html; charset=utf-8");
    res.set(http::field::cache_control, "no-store");
    // The token is in the page's address: no referrer leaves it, nothing but this server is
    // reachable from it (no inline script, no other origin), and no site may frame it.
    res.set("Referrer-Policy", "no-referrer");
    res.set("Content-Security-Policy",
            "default-src 'self'; img-src 'self' blob: data:; script-src 'self'; "
            "style-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; "
            "frame-ancestors 'none'");
    res.set("X-Content-Type-Options", "nosniff");
    res.body() = std::string(run ? executor_html() : not_found_html());
    return c.send(std::move(res));
  }
  if (n == 3 && s[2] == "state") {
    c.pattern = "/r/{token}/state";
    if (!c.method_is(http::verb::get))
      return;
    auto run = engine_.get_run_by_token(token);
    return run ? c.reply(200, executor_view(*run)) : c.fail(run.error());
  }
  auto act = [&](run_action action, std::string step, std::string answer) {
    engine_.act(token, action, std::move(step), std::move(answer), [self](outcome<run_record> r) {
      if (!r)
        return self->fail(r.error());
      self->reply(200, executor_view(*r));
    });
  };
  if (n == 3 && (s[2] == "submit" || s[2] == "exit")) {
    c.pattern = "/r/{token}/" + s[2];
    if (!c.method_is(http::verb::post))
      return;
    return act(s[2] == "submit" ? run_action::submit : run_action::exit, {}, {});
  }
  if (n == 5 && s[2] == "photos" && s[4] == "thumbnail") {
    c.pattern = "/r/{token}/photos/{photo_id}/thumbnail";
    if (!c.method_is(http::verb::get))
      return;
    auto thumb = engine_.get_photo_thumbnail(token, photo_id{s[3]});
    if (!thumb)
      return c.fail(thumb.error());
    net::http_response res{http::status::ok, 11};
    res.set(http::field::content_type, thumb->content_type);
    res.set(http::field::cache_control, "private, max-age=86400");
    res.set("X-Content-Type-Options", "nosniff");
    res.body() = std::move(thumb->bytes);
    return c.send(std::move(res));
  }
  if (n == 5 && s[2] == "steps") {
    auto& what = s[4];
    if (what == "answer") {
      c.pattern = "/r/{token}/steps/{step}/answer";
      if (!c.method_is(http::verb::post))
        return;
      auto body = c.body_object(true);
      if (!body)
        return;
      auto answer = parse_answer(*body);
      if (!answer)
        return c.fail(answer.error());
      return act(run_action::answer, s[3], std::move(*answer));
    }
    if (what == "skip") {
      c.pattern = "/r/{token}/steps/{step}/skip";
      if (!c.method_is(http::verb::post))
        return;
      return act(run_action::skip, s[3], {});
    }
    if (what == "photos") {
      c.pattern = "/r/{token}/steps/{step}/photos";
      if (!c.method_is(http::verb::post))
        return;
      // The media type without parameters: "image/jpeg; foo=bar" is image/jpeg.
      std::string type{c.req[http::field::content_type]};
      type = type.substr(0, type.find(';'));
      while (!type.empty() && type.back() == ' ')
        type.pop_back();
      for (auto& ch : type)
        ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (type != "image/jpeg" && type != "image/png")
        return c.error(415, "unsupported_media_type",
                       "Content-Type must be image/jpeg or image/png");
      return engine_.add_photo(token, s[3], type, std::move(c.req.body()),
                               [self](outcome<uploaded_photo> r) {
                                 if (!r)
                                   return self->fail(r.error());
                                 self->reply(201, json::object{{"photo_id", r->id.value},
                                                               {"width", r->width},
                                                               {"height", r->height}});
                               });
    }
  }
  c.not_found_route();
}

std::string router::metrics_text() {
  metrics_.set_open_connections(connections_ ? connections_() : 0);
  metrics_.set_held_body_bytes(held_body_bytes_ ? held_body_bytes_() : 0);
  auto families = engine_families(engine_.figures());
  auto append = [&](std::vector<prometheus::MetricFamily> more) {
    families.insert(families.end(), std::make_move_iterator(more.begin()),
                    std::make_move_iterator(more.end()));
  };
  append(metrics_.collect());
  if (cluster_)
    append(cluster_families(cluster_()));
  return render_metrics(families);
}

} // namespace rundun::api
