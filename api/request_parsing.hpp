#pragma once

#include "actors/specs.hpp"
#include "persistence/domain_error.hpp"

#include <string>
#include <string_view>

#include <boost/json/object.hpp>

namespace rundun::api {

/// API bodies larger than this are refused with 413 before they are read.
constexpr std::uint64_t max_api_body = 1 << 20;
/// Photo uploads (`POST /r/{token}/steps/{step}/photos`) may be this large instead.
constexpr std::uint64_t max_photo_body = 10 << 20;

/// The largest body a request target accepts: photo uploads `max_photo_body`, everything
/// else `max_api_body`. The one rule for the HTTP server (through `router::body_limit`) and
/// for a request forwarded by another cluster node (api/forwarded_request.hpp).
inline std::uint64_t request_body_limit(std::string_view target) {
  auto path = target.substr(0, target.find('?'));
  return path.starts_with("/r/") && path.ends_with("/photos") ? max_photo_body : max_api_body;
}

/// Parses a request body as one JSON object. An empty body is `{}` when `empty_ok`.
/// Refusals are `400 invalid_json` (not JSON) or `400 invalid_field` (not an object).
outcome<boost::json::object> parse_object(std::string_view body, bool empty_ok);

/// The body of `POST /v1/templates`. Checks shapes and types; the engine checks ranges.
outcome<template_spec> parse_template_spec(const boost::json::object& body);

/// The body of `POST /v1/runs`.
outcome<run_spec> parse_run_spec(const boost::json::object& body);

/// The body of an answer: `{"value": <any JSON>, "note": "<text>"}`, both optional. Returns
/// the answer as JSON text, as the run stores it.
outcome<std::string> parse_answer(const boost::json::object& body);

/// The body of `POST /v1/endpoints/recover`: `{"url": "<webhook URL>", "since": "<time>"}`.
struct recover_request {
  std::string url;
  time_point since;
};
outcome<recover_request> parse_recover(const boost::json::object& body);

} // namespace rundun::api
