#pragma once

// The responses that more than one of the router's files builds: a JSON answer, and bytes
// served as they are stored. The router's public refusals (router::unauthorized,
// router::error_response, router::refusal) are defined with them, in router_responses.cpp.
// Internal to api/.

#include "net/http_server.hpp"

#include <string>
#include <string_view>

#include <boost/json/value.hpp>

namespace rundun::api {

/// A JSON response that no cache keeps: every answer of /v1 and of a link's actions.
net::http_response json_response(unsigned status, const boost::json::value& body);

/// A `200` with bytes as they are stored (a photo, a thumbnail, a page's script or style),
/// of `content_type`, kept by a cache as `cache_control` says. The bytes may be an
/// uploader's: a browser must not read a "JPEG" as HTML or script (nosniff).
net::http_response bytes_response(std::string_view content_type, std::string_view cache_control,
                                  std::string bytes);

} // namespace rundun::api
