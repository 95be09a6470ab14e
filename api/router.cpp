// The router's entry points: a request's first dispatch (by its first path segment) to the
// files that hold the routes, the server's screen of a request before its body is read,
// /healthz and /metrics. The routes: v1_routes.cpp, list_routes.cpp, link_routes.cpp,
// page_routes.cpp; the responses they build: router_responses.cpp.

#include "api/router.hpp"

#include "api/metrics_text.hpp"
#include "api/request_parsing.hpp"
#include "api/router_call.hpp"

#include <boost/beast/http.hpp>
#include <boost/json.hpp>

namespace rundun::api {

namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

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
