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

/// A cluster node's figures (contract §9): its id, each peer's connection, and the requests
/// it forwarded to their owners.
struct cluster_figures {
  std::string node_id;
  std::vector<std::pair<std::string, bool>> peers_up;
  std::uint64_t forwarded_answered = 0, forwarded_unavailable = 0;
  latency_histogram::snapshot forward_latency;
};

/// The cluster's families, in the same exposition.
std::string render_cluster_metrics(const cluster_figures& c);

/// The Prometheus text exposition (format 0.0.4) of the engine's and the API's figures.
/// No ids, tokens or secrets: labels are event types, outcomes, route patterns, status
/// codes and endpoint hosts.
std::string render_metrics(const engine_figures& f, const api_figures& api);

} // namespace rundun::api
