#include "api/metrics_text.hpp"

#include "net/log.hpp"

#include "persistence/model.hpp"

#include <charconv>

namespace rundun::api {

namespace {

/// Builds the text exposition: a family's HELP and TYPE lines, then its samples.
class exposition {
public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_.append("# HELP ").append(name).append(" ").append(help).append("\n");
    out_.append("# TYPE ").append(name).append(" ").append(type).append("\n");
  }

  /// One sample; `labels` is a list of name/value pairs, values escaped here.
  template <class T>
  void sample(std::string_view name,
              std::initializer_list<std::pair<std::string_view, std::string_view>> labels,
              T value) {
    out_.append(name);
    if (labels.size() != 0) {
      out_.push_back('{');
      bool first = true;
      for (auto& [k, v] : labels) {
        if (!first)
          out_.push_back(',');
        first = false;
        out_.append(k).append("=\"");
        append_escaped(v);
        out_.push_back('"');
      }
      out_.push_back('}');
    }
    out_.push_back(' ');
    append_number(value);
    out_.push_back('\n');
  }

  /// A family with one unlabelled sample: a plain counter or gauge.
  template <class T>
  void single(std::string_view name, std::string_view type, std::string_view help, T value) {
    family(name, type, help);
    sample(name, {}, value);
  }

  /// A histogram's buckets (cumulative, `+Inf` last), `_sum` and `_count`, with an optional
  /// extra label.
  void histogram(std::string_view name, const latency_histogram::snapshot& h,
                 std::pair<std::string_view, std::string_view> label = {}) {
    std::string bucket = std::string(name) + "_bucket";
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i <= h.bounds.size(); ++i) {
      cumulative += h.counts[i];
      std::string le = i < h.bounds.size() ? number_text(h.bounds[i]) : "+Inf";
      if (label.first.empty())
        sample(bucket, {{"le", le}}, cumulative);
      else
        sample(bucket, {label, {"le", le}}, cumulative);
    }
    auto with = [&](std::string_view suffix, auto value) {
      auto n = std::string(name) + std::string(suffix);
      if (label.first.empty())
        sample(n, {}, value);
      else
        sample(n, {label}, value);
    };
    with("_sum", h.sum_seconds);
    with("_count", cumulative);
  }

  std::string take() { return std::move(out_); }

private:
  static std::string number_text(double x) {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, x);
    return {buf, r.ptr};
  }

  template <class T>
  void append_number(T x) {
    if constexpr (std::is_floating_point_v<T>)
      out_.append(number_text(x));
    else
      out_.append(std::to_string(x));
  }

  // The format's label escapes: backslash, double quote and line feed.
  void append_escaped(std::string_view v) {
    for (char c : v) {
      if (c == '\\')
        out_.append("\\\\");
      else if (c == '"')
        out_.append("\\\"");
      else if (c == '\n')
        out_.append("\\n");
      else
        out_.push_back(c);
    }
  }

  std::string out_;
};

} // namespace

std::string render_metrics(const engine_figures& f, const api_figures& api) {
  exposition x;
  x.family("rundun_events_created_total", "counter", "Events created, by type.");
  for (auto t : all_event_types)
    x.sample("rundun_events_created_total", {{"type", to_string(t)}},
             f.events_created[static_cast<int>(t)]);

  x.family("rundun_delivery_attempts_total", "counter",
           "Delivery attempts, by outcome: the response's status class, or why there was none.");
  std::pair<std::string_view, std::uint64_t> outcomes[] = {
      {"2xx", f.attempts_2xx},         {"3xx", f.attempts_3xx},
      {"4xx", f.attempts_4xx},         {"5xx", f.attempts_5xx},
      {"timeout", f.attempts_timeout}, {"connect", f.attempts_connect},
      {"tls", f.attempts_tls},         {"refused-destination", f.attempts_refused},
      {"other", f.attempts_other}};
  for (auto& [label, n] : outcomes)
    x.sample("rundun_delivery_attempts_total", {{"outcome", label}}, n);

  x.single("rundun_deliveries_delivered_total", "counter", "Events delivered (a 2xx).",
           f.delivered);
  x.single("rundun_deliveries_failed_total", "counter",
           "Events that failed for good: retries exhausted, or the endpoint answered 410.",
           f.failed);
  x.family("rundun_delivery_latency_seconds", "histogram",
           "From an event's creation to the 2xx that delivered it, retries included.");
  x.histogram("rundun_delivery_latency_seconds", f.delivery_latency);
  x.single("rundun_deliveries_pending", "gauge",
           "Deliveries waiting for their next attempt or in flight.", f.pending_total);
  x.family("rundun_endpoint_backlog", "gauge",
           "Pending deliveries of the hosts with the largest backlogs (at most 10 hosts).");
  for (auto& [host, n] : f.largest_backlogs)
    x.sample("rundun_endpoint_backlog", {{"host", host}}, n);
  x.single("rundun_deliveries_in_flight", "gauge", "Delivery requests in flight.", f.in_flight);

  x.family("rundun_runs", "gauge", "Runs by status (the active ones; ended runs are history).");
  x.sample("rundun_runs", {{"status", "active"}}, f.active_runs);
  x.single("rundun_run_actors", "gauge",
           "Resident run actors: runs worked on right now (an idle run's actor leaves).",
           f.run_actors);
  x.family("rundun_actor_failures_total", "counter",
           "Actors that threw and were contained (their run or endpoint restarted from the "
           "store), by kind.");
  x.sample("rundun_actor_failures_total", {{"kind", "run"}}, f.run_actor_failures);
  x.sample("rundun_actor_failures_total", {{"kind", "endpoint"}}, f.endpoint_actor_failures);
  x.single("rundun_endpoint_actors", "gauge", "Live endpoint delivery actors.", f.endpoint_actors);
  x.single("rundun_live_actors", "gauge", "Running actors of the engine, of every kind.",
           f.live_actors);

  x.single("rundun_media_queue", "gauge",
           "Photo uploads waiting for or on the media thread (bounded: more get 503).",
           f.media_queue);
  x.single("rundun_store_queue", "gauge",
           "Writes queued for the store's writer (new commands get 503 past a bound).",
           f.store_queue);
  x.single("rundun_retention_removed_runs_total", "counter",
           "Ended runs removed by retention, with their events, attempts and photos.",
           f.retention_runs_removed);
  x.single("rundun_retention_removed_events_total", "counter",
           "Events removed by retention (with their runs).", f.retention_events_removed);

  x.single("rundun_lmdb_commit_batches_total", "counter", "LMDB group commits.", f.commit_batches);
  x.single("rundun_lmdb_commit_writes_total", "counter", "Writes in LMDB group commits.",
           f.commit_writes);
  x.single("rundun_lmdb_commit_failures_total", "counter", "Writes that failed to commit.",
           f.commit_failures);
  x.family("rundun_lmdb_commit_duration_seconds", "histogram",
           "Time of one group commit, fsync included.");
  x.histogram("rundun_lmdb_commit_duration_seconds", f.commit_latency);

  x.single("rundun_log_lines_dropped_total", "counter",
           "Log lines dropped because stderr was slower than the logging (the oldest waiting "
           "line goes).",
           log::dropped());

  x.single("rundun_open_connections", "gauge", "Open API connections.", api.open_connections);
  x.family("rundun_api_requests_total", "counter", "API requests, by route and status.");
  for (auto& r : api.requests)
    x.sample("rundun_api_requests_total",
             {{"route", r.route}, {"status", std::to_string(r.status)}}, r.count);
  x.family("rundun_api_request_duration_seconds", "histogram",
           "Time from a request's arrival to its response, by route.");
  for (auto& [route, h] : api.latency)
    x.histogram("rundun_api_request_duration_seconds", h, {"route", route});
  return x.take();
}

std::string render_cluster_metrics(const cluster_figures& c) {
  exposition x;
  x.family("rundun_cluster_node", "gauge", "This node's id in the cluster (always 1).");
  x.sample("rundun_cluster_node", {{"node_id", c.node_id}}, 1);
  x.family("rundun_cluster_peer_up", "gauge",
           "Whether this node holds a live connection to a peer (1) or not (0).");
  for (auto& [peer, up] : c.peers_up)
    x.sample("rundun_cluster_peer_up", {{"peer", peer}}, up ? 1 : 0);
  x.family("rundun_cluster_forwarded_total", "counter",
           "Requests forwarded to the node that owns their run, by outcome.");
  x.sample("rundun_cluster_forwarded_total", {{"outcome", "answered"}}, c.forwarded_answered);
  x.sample("rundun_cluster_forwarded_total", {{"outcome", "unavailable"}}, c.forwarded_unavailable);
  x.family("rundun_cluster_forward_duration_seconds", "histogram",
           "From forwarding a request to its owner's answer, as this node saw it.");
  x.histogram("rundun_cluster_forward_duration_seconds", c.forward_latency);
  return x.take();
}

} // namespace rundun::api
