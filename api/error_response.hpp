#pragma once

#include "net/http_server.hpp"

#include <string_view>

namespace rundun::api {

/// A response with the contract's error body, `{"error": {"code": …, "message": …}}`, as
/// JSON that no cache keeps. The router's refusals, the HTTP server's own answers (413, 431,
/// 400; through `router::error_response`) and the refusals of a request forwarded by another
/// cluster node are all built here, so that each reads the same. Pure; any thread.
net::http_response make_error_response(unsigned status, std::string_view code,
                                       std::string_view message);

} // namespace rundun::api
