#include "api/metrics_text.hpp"

#include "net/log.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <limits>

namespace rundun::api {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

std::vector<ClientMetric::Label> label_list(labels l) {
  std::vector<ClientMetric::Label> out;
  for (auto& [name, value] : l)
    out.push_back({std::string(name), std::string(value)});
  return out;
}

MetricFamily& family(std::vector<MetricFamily>& out, std::string name, std::string help,
                     MetricType type) {
  return out.emplace_back(MetricFamily{std::move(name), std::move(help), type, {}});
}

void add(MetricFamily& fam, labels l, double value) {
  ClientMetric m;
  m.label = label_list(l);
  if (fam.type == MetricType::Counter)
    m.counter.value = value;
  else
    m.gauge.value = value;
  fam.metric.push_back(std::move(m));
}

/// A family with one unlabelled sample: a plain counter or gauge.
void single(std::vector<MetricFamily>& out, std::string name, std::string help, MetricType type,
            double value) {
  add(family(out, std::move(name), std::move(help), type), {}, value);
}

/// One of our lock-free histograms as a Prometheus one: cumulative buckets, `+Inf` last.
void add_histogram(MetricFamily& fam, labels l, const latency_histogram::snapshot& h) {
  ClientMetric m;
  m.label = label_list(l);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= h.bounds.size(); ++i) {
    cumulative += h.counts[i];
    m.histogram.bucket.push_back(
        {cumulative, i < h.bounds.size() ? h.bounds[i] : std::numeric_limits<double>::infinity()});
  }
  m.histogram.sample_count = cumulative;
  m.histogram.sample_sum = h.sum_seconds;
  fam.metric.push_back(std::move(m));
}

void histogram(std::vector<MetricFamily>& out, std::string name, std::string help,
               const latency_histogram::snapshot& h) {
  add_histogram(family(out, std::move(name), std::move(help), MetricType::Histogram), {}, h);
}

std::vector<double> bucket_bounds(std::span<const double> b) {
  return {b.begin(), b.end()};
}

} // namespace

// -- the API's own metrics ------------------------------------------------------

api_metrics::api_metrics() : registry_(std::make_shared<prometheus::Registry>()) {
  requests_ = &prometheus::BuildCounter()
                   .Name("rundun_api_requests_total")
                   .Help("API requests, by route and status.")
                   .Register(*registry_);
  duration_ = &prometheus::BuildHistogram()
                   .Name("rundun_api_request_duration_seconds")
                   .Help("Time from a request's arrival to its response, by route.")
                   .Register(*registry_);
  open_connections_ = &prometheus::BuildGauge()
                           .Name("rundun_open_connections")
                           .Help("Open API connections.")
                           .Register(*registry_)
                           .Add({});
  held_body_bytes_ = &prometheus::BuildGauge()
                          .Name("rundun_request_body_bytes_held")
                          .Help("Bytes of request bodies held at once (bounded: more get 503).")
                          .Register(*registry_)
                          .Add({});
}

api_metrics::~api_metrics() = default;

void api_metrics::count(const std::string& route, unsigned status, std::chrono::microseconds took) {
  requests_->Add({{"route", route}, {"status", std::to_string(status)}}).Increment();
  static const auto buckets = bucket_bounds(fast_latency_bounds); // used once per route
  duration_->Add({{"route", route}}, buckets).Observe(static_cast<double>(took.count()) / 1e6);
}

void api_metrics::set_open_connections(std::size_t n) {
  open_connections_->Set(static_cast<double>(n));
}

void api_metrics::set_held_body_bytes(std::uint64_t n) {
  held_body_bytes_->Set(static_cast<double>(n));
}

std::vector<prometheus::MetricFamily> api_metrics::collect() const {
  return registry_->Collect();
}

// -- the engine's and the cluster's figures, at scrape time ---------------------------

std::vector<MetricFamily> engine_families(const engine_figures& f) {
  using T = MetricType;
  std::vector<MetricFamily> out;
  auto& created =
      family(out, "rundun_events_created_total", "Events created, by type.", T::Counter);
  for (auto t : all_event_types)
    add(created, {{"type", to_string(t)}}, f.events_created[static_cast<int>(t)]);

  auto& attempts =
      family(out, "rundun_delivery_attempts_total",
             "Delivery attempts, by outcome: the response's status class, or why there was none.",
             T::Counter);
  std::pair<const char*, std::uint64_t> outcomes[] = {
      {"2xx", f.attempts_2xx},         {"3xx", f.attempts_3xx},
      {"4xx", f.attempts_4xx},         {"5xx", f.attempts_5xx},
      {"timeout", f.attempts_timeout}, {"connect", f.attempts_connect},
      {"tls", f.attempts_tls},         {"refused-destination", f.attempts_refused},
      {"proxy", f.attempts_proxy},     {"other", f.attempts_other}};
  for (auto& [label, n] : outcomes)
    add(attempts, {{"outcome", label}}, n);

  single(out, "rundun_deliveries_delivered_total", "Events delivered (a 2xx).", T::Counter,
         f.delivered);
  single(out, "rundun_deliveries_failed_total",
         "Events that failed for good: retries exhausted, or the endpoint answered 410.",
         T::Counter, f.failed);
  histogram(out, "rundun_delivery_latency_seconds",
            "From an event's creation to the 2xx that delivered it, retries included.",
            f.delivery_latency);
  single(out, "rundun_deliveries_pending",
         "Deliveries waiting for their next attempt or in flight.", T::Gauge, f.pending_total);
  auto& backlog = family(
      out, "rundun_endpoint_backlog",
      "Pending deliveries of the hosts with the largest backlogs (at most 10 hosts).", T::Gauge);
  for (auto& [host, n] : f.largest_backlogs)
    add(backlog, {{"host", host}}, n);
  single(out, "rundun_deliveries_in_flight", "Delivery requests in flight.", T::Gauge, f.in_flight);

  auto& runs = family(out, "rundun_runs",
                      "Runs by status (the active ones; ended runs are history).", T::Gauge);
  add(runs, {{"status", "active"}}, f.active_runs);
  single(out, "rundun_run_actors",
         "Resident run actors: runs worked on right now (an idle "
         "run's actor leaves).",
         T::Gauge, f.run_actors);
  auto& failures = family(out, "rundun_actor_failures_total",
                          "Actors that threw and were contained (their run or endpoint "
                          "restarted from the store), by kind.",
                          T::Counter);
  add(failures, {{"kind", "run"}}, f.run_actor_failures);
  add(failures, {{"kind", "endpoint"}}, f.endpoint_actor_failures);
  single(out, "rundun_endpoint_actors", "Live endpoint delivery actors.", T::Gauge,
         f.endpoint_actors);
  single(out, "rundun_live_actors", "Running actors of the engine, of every kind.", T::Gauge,
         f.live_actors);
  single(out, "rundun_signers_cached",
         "Webhook signers (keyed HMAC contexts) cached, over all endpoints.", T::Gauge,
         f.signers_cached);
  single(out, "rundun_signers_capacity",
         "Webhook signers the engine keeps at most; the least recently used goes first.", T::Gauge,
         f.signers_capacity);

  single(out, "rundun_media_queue",
         "Photo uploads waiting for or on the media thread (bounded: more get 503).", T::Gauge,
         f.media_queue);
  single(out, "rundun_store_queue",
         "Writes queued for the store's writer (new commands get 503 past a bound).", T::Gauge,
         f.store_queue);
  single(out, "rundun_retention_removed_runs_total",
         "Ended runs removed by retention, with their events, attempts and photos.", T::Counter,
         f.retention_runs_removed);
  single(out, "rundun_retention_removed_events_total",
         "Events removed by retention (with their runs).", T::Counter, f.retention_events_removed);
  single(out, "rundun_endpoints_disabled_total",
         "Endpoints disabled after every attempt failed for --endpoint-disable-after.", T::Counter,
         f.endpoints_disabled);
  auto& notices = family(out, "rundun_operator_notices_total",
                         "Operator notices made (each once per run of failures of an endpoint), "
                         "by type.",
                         T::Counter);
  for (auto t : {notice_type::failing, notice_type::disabled, notice_type::recovered})
    add(notices, {{"type", to_string(t)}}, f.notices_made[static_cast<int>(t) - 1]);
  single(out, "rundun_operator_notices_delivered_total",
         "Operator notices delivered to --operator-webhook.", T::Counter, f.notices_delivered);
  single(out, "rundun_operator_notices_failed_total",
         "Operator notices that failed their last attempt.", T::Counter, f.notices_failed);
  single(out, "rundun_idempotency_replays_total",
         "Creations answered again from their Idempotency-Key, creating nothing.", T::Counter,
         f.idempotency_replays);
  single(out, "rundun_idempotency_keys_in_progress",
         "Idempotency-Keys whose first request is being handled now.", T::Gauge,
         f.idempotency_keys_in_progress);
  single(out, "rundun_idempotency_keys_expired_total",
         "Idempotency-Keys removed once their 24 hours were over.", T::Counter,
         f.idempotency_keys_expired);

  single(out, "rundun_lmdb_commit_batches_total", "LMDB group commits.", T::Counter,
         f.commit_batches);
  single(out, "rundun_lmdb_commit_writes_total", "Writes in LMDB group commits.", T::Counter,
         f.commit_writes);
  single(out, "rundun_lmdb_commit_failures_total", "Writes that failed to commit.", T::Counter,
         f.commit_failures);
  histogram(out, "rundun_lmdb_commit_duration_seconds", "Time of one group commit, fsync included.",
            f.commit_latency);

  single(out, "rundun_log_lines_dropped_total",
         "Log lines dropped because stderr was slower than the logging (the oldest waiting "
         "line goes).",
         T::Counter, log::dropped());
  return out;
}

std::vector<MetricFamily> cluster_families(const cluster_figures& c) {
  using T = MetricType;
  std::vector<MetricFamily> out;
  auto& node =
      family(out, "rundun_cluster_node", "This node's id in the cluster (always 1).", T::Gauge);
  add(node, {{"node_id", c.node_id}}, 1);
  auto& up =
      family(out, "rundun_cluster_peer_up",
             "Whether this node holds a live connection to a peer (1) or not (0).", T::Gauge);
  for (auto& [peer, is_up] : c.peers_up)
    add(up, {{"peer", peer}}, is_up ? 1 : 0);
  auto& forwarded =
      family(out, "rundun_cluster_forwarded_total",
             "Requests forwarded to the node that owns their run, by outcome.", T::Counter);
  add(forwarded, {{"outcome", "answered"}}, c.forwarded_answered);
  add(forwarded, {{"outcome", "unavailable"}}, c.forwarded_unavailable);
  histogram(out, "rundun_cluster_forward_duration_seconds",
            "From forwarding a request to its owner's answer, as this node saw it.",
            c.forward_latency);
  auto& refused = family(out, "rundun_cluster_refused_total",
                         "Peers refused because they could not prove the member they claimed "
                         "to be, by reason.",
                         T::Counter);
  for (auto& [reason, n] : c.refused)
    add(refused, {{"reason", reason}}, n);
  return out;
}

std::string render_metrics(const std::vector<MetricFamily>& families) {
  return prometheus::TextSerializer{}.Serialize(families);
}

} // namespace rundun::api
