#pragma once

#include "actors/engine.hpp"
#include "persistence/latency_histogram.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <prometheus/metric_family.h>

namespace prometheus {
class Registry;
class Gauge;
template <typename T>
class Family;
class Counter;
class Histogram;
} // namespace prometheus

namespace rundun::api {

/// The API's own metrics, recorded as each request is answered: prometheus-cpp's counters,
/// histograms and gauge in its registry. Thread-safe.
class api_metrics {
public:
  api_metrics();
  ~api_metrics();
  api_metrics(const api_metrics&) = delete;

  /// One answered request: its route pattern, status and time from arrival to response.
  void count(const std::string& route, unsigned status, std::chrono::microseconds took);
  /// The server's open connections, read at scrape time.
  void set_open_connections(std::size_t n);
  /// The bytes of request bodies the server holds (net::http_server::held_body_bytes), read
  /// at scrape time.
  void set_held_body_bytes(std::uint64_t n);
  std::vector<prometheus::MetricFamily> collect() const;

private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* requests_;
  prometheus::Family<prometheus::Histogram>* duration_;
  prometheus::Gauge* open_connections_;
  prometheus::Gauge* held_body_bytes_;
};

/// A cluster node's figures (contract §9): its id, each peer's connection, and the requests
/// it forwarded to their owners.
struct cluster_figures {
  std::string node_id;
  std::vector<std::pair<std::string, bool>> peers_up;
  std::uint64_t forwarded_answered = 0, forwarded_unavailable = 0;
  latency_histogram::snapshot forward_latency;
  /// Peers refused for their identity, by reason.
  std::vector<std::pair<std::string, std::uint64_t>> refused;
};

/// The engine's figures as Prometheus families. They are read from the engine at scrape
/// time (engine::figures(): atomics and lock-free histograms), not recorded twice.
std::vector<prometheus::MetricFamily> engine_families(const engine_figures& f);

/// The cluster's families.
std::vector<prometheus::MetricFamily> cluster_families(const cluster_figures& c);

/// The Prometheus text exposition (format 0.0.4) of these families, by prometheus-cpp's
/// serializer. No ids, tokens or secrets: labels are event types, outcomes, route patterns,
/// status codes and endpoint hosts.
std::string render_metrics(const std::vector<prometheus::MetricFamily>& families);

} // namespace rundun::api
