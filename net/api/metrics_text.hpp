#pragma once

#include "actors/engine.hpp"

#include <string>
#include <vector>

namespace rundun::api {

/// One row of the API request counter.
struct request_count {
  std::string route;
  unsigned status = 0;
  std::uint64_t count = 0;
};

/// The Prometheus text exposition (format 0.0.4) of the engine's figures and the API's
/// request counts. No ids, tokens or secrets: labels are event types, outcomes, route
/// patterns and status codes.
std::string render_metrics(const engine_figures& f, const std::vector<request_count>& requests,
                           std::size_t open_connections);

} // namespace rundun::api
