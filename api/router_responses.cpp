// The responses the router builds: its refusals (a missing API key, an engine's refusal, the
// contract's error body), JSON answers, and bytes served as they are stored.

#include "api/router_responses.hpp"

#include "api/api_key.hpp"
#include "api/error_response.hpp"
#include "api/router.hpp"
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

net::http_response json_response(unsigned status, const json::value& body) {
  net::http_response res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.body() = json::serialize(body);
  return res;
}

net::http_response bytes_response(std::string_view content_type, std::string_view cache_control,
                                  std::string bytes) {
  net::http_response res{http::status::ok, 11};
  res.set(http::field::content_type, content_type);
  res.set(http::field::cache_control, cache_control);
  res.set("X-Content-Type-Options", "nosniff");
  res.body() = std::move(bytes);
  return res;
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
  auto res = json_response(status_of(e), error_body(e.code, e.message, e.steps));
  // A 503 changed nothing, and the client may try again shortly.
  if (e.kind == error_kind::overloaded)
    res.set(http::field::retry_after, std::to_string(overloaded_retry_after_seconds));
  else if (e.kind == error_kind::unavailable)
    res.set(http::field::retry_after, std::to_string(unavailable_retry_after_seconds));
  return res;
}

} // namespace rundun::api
