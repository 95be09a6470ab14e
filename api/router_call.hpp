#pragma once

// One request in progress through the router, shared by the files that hold its routes
// (router.cpp, v1_routes.cpp, link_routes.cpp, page_routes.cpp, list_routes.cpp). Internal
// to api/.

#include "api/request_parsing.hpp"
#include "api/router.hpp"
#include "api/router_responses.hpp"
#include "api/views.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/http.hpp>
#include <boost/json.hpp>

namespace rundun::api {

namespace http = boost::beast::http;
namespace json = boost::json;

/// One request in progress. Shared with the engine's callbacks, which may answer later.
struct router::call : std::enable_shared_from_this<call> {
  router* owner = nullptr;
  net::http_request req;
  net::responder respond;
  std::vector<std::string> seg;
  std::string pattern = "unknown";
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  void send(net::http_response res) {
    auto took = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - started);
    owner->metrics_.count(pattern, res.result_int(), took);
    respond(std::move(res));
  }

  void reply(unsigned status, const json::value& body) { send(json_response(status, body)); }

  /// The `201` of a creation; a replay from its `Idempotency-Key` says so in a header.
  void reply_created(const json::value& body, bool replayed) {
    auto res = json_response(201, body);
    if (replayed)
      res.set("Idempotent-Replayed", "true");
    send(std::move(res));
  }

  /// Reads the request's `Idempotency-Key` (contract §4) into `key`, fingerprinted by
  /// `route` and the body's bytes: none when the header is absent. Answers `400` and returns
  /// false for a key that is not 1..255 printable ASCII characters, or given twice.
  bool read_idempotency_key(keyed_route route, std::optional<idempotency_key>& key) {
    auto range = req.equal_range("Idempotency-Key");
    if (range.first == range.second)
      return true;
    if (std::next(range.first) != range.second) {
      error(400, "invalid_idempotency_key", "the Idempotency-Key header must be given once");
      return false;
    }
    std::string_view value = range.first->value();
    if (auto bad = check_idempotency_key(value)) {
      fail(*bad);
      return false;
    }
    key = idempotency_key{std::string(value), request_fingerprint(route, req.body())};
    return true;
  }

  void error(unsigned status, std::string_view code, std::string_view message,
             const std::vector<std::string>& steps = {}) {
    reply(status, error_body(code, message, steps));
  }

  void fail(const domain_error& e) { send(refusal(e)); }

  /// Checks the method; on a mismatch answers 405 with an Allow header. `also` is a second
  /// method the route takes (handled elsewhere), named in the answer.
  bool method_is(http::verb v, std::optional<http::verb> also = std::nullopt) {
    if (req.method() == v)
      return true;
    std::string allowed(http::to_string(v));
    if (also)
      allowed = std::string(http::to_string(*also)) + ", " + allowed;
    auto res = error_response(405, "method_not_allowed",
                              std::string(req.method_string()) +
                                  " is not allowed on this route; use " + allowed);
    res.set(http::field::allow, allowed);
    send(std::move(res));
    return false;
  }

  /// One route of a table (v1_routes.cpp, link_routes.cpp).
  struct route {
    /// What the path must be, segment by segment, where `{name}` stands for any one segment;
    /// also the name the request is counted under in the metrics.
    std::string_view pattern;
    http::verb method;
    /// A second method the path takes, handled elsewhere (route_lists): named in a 405.
    std::optional<http::verb> also;
    void (*handle)(call&);
  };

  /// Hands the request to the first of `routes` whose pattern its path matches, once its
  /// method is checked (405 otherwise); answers 404 when none matches.
  void dispatch(std::span<const route> routes) {
    for (auto& r : routes) {
      if (!path_is(r.pattern))
        continue;
      pattern = r.pattern;
      if (method_is(r.method, r.also))
        r.handle(*this);
      return;
    }
    not_found_route();
  }

  /// True when the path has the segments of `p` ("/r/{token}/state"): as many, each the
  /// same, or any one for a `{name}`.
  bool path_is(std::string_view p) const {
    std::size_t i = 0;
    while (p.starts_with('/')) {
      p.remove_prefix(1);
      auto part = p.substr(0, p.find('/'));
      p.remove_prefix(part.size());
      if (i == seg.size() || (!part.starts_with('{') && part != seg[i]))
        return false;
      ++i;
    }
    return i == seg.size();
  }

  void not_found_route() {
    pattern = "unknown";
    error(404, "not_found", "no route matches " + std::string(req.target().substr(0, 200)));
  }

  /// Parses the body as a JSON object or answers 400.
  std::optional<json::object> body_object(bool empty_ok) {
    auto o = parse_object(req.body(), empty_ok);
    if (!o) {
      fail(o.error());
      return std::nullopt;
    }
    return std::move(*o);
  }

  /// Parses the body as a JSON object, then that object with `parse` (request_parsing.hpp);
  /// answers 400 and returns none when either fails.
  template <class T>
  std::optional<T> parsed_body(outcome<T> (*parse)(const json::object&), bool empty_ok = false) {
    auto body = body_object(empty_ok);
    if (!body)
      return std::nullopt;
    auto parsed = parse(*body);
    if (!parsed) {
      fail(parsed.error());
      return std::nullopt;
    }
    return std::move(*parsed);
  }
};

} // namespace rundun::api
