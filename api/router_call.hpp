#pragma once

// One request in progress through the router, shared by the files that hold its routes
// (router.cpp, list_routes.cpp). Internal to api/.

#include "api/request_parsing.hpp"
#include "api/router.hpp"
#include "api/views.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
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

  void reply(unsigned status, const json::value& body) {
    net::http_response res{static_cast<http::status>(status), 11};
    res.set(http::field::content_type, "application/json");
    res.set(http::field::cache_control, "no-store");
    res.body() = json::serialize(body);
    send(std::move(res));
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
};

} // namespace rundun::api
