#pragma once

#include "actors/engine.hpp"
#include "persistence/latency_histogram.hpp"

#include <string>
#include <utility>
#include <vector>

namespace rundun::api {

/// One row of the API request counter.
struct request_count {
  std::string route;
  unsigned status = 0;
  std::uint64_t count = 0;
};

/// The API's own figures: requests by route pattern and status, latency by route pattern,
/// and the server's open connections.
struct api_figures {
  std::vector<request_count> requests;
  std::vector<std::pair<std::string, latency_histogram::snapshot>> latency;
  std::size_t open_connections = 0;
};

/// The Prometheus text exposition (format 0.0.4) of the engine's and the API's figures.
/// No ids, tokens or secrets: labels are event types, outcomes, route patterns, status
/// codes and endpoint hosts.
std::string render_metrics(const engine_figures& f, const api_figures& api);

} // namespace rundun::api
