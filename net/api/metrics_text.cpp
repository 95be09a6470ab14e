#include "net/api/metrics_text.hpp"

#include "persistence/model.hpp"

namespace rundun::api {

namespace {

void family(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

template <class T>
void sample(std::string& out, const char* name, const std::string& labels, T value) {
  out += name;
  if (!labels.empty())
    out += "{" + labels + "}";
  out += ' ';
  out += std::to_string(value);
  out += '\n';
}

} // namespace

std::string render_metrics(const engine_figures& f, const std::vector<request_count>& requests,
                           std::size_t open_connections) {
  std::string out;
  family(out, "rundun_events_created_total", "counter", "Events created, by type.");
  for (auto t : all_event_types)
    sample(out, "rundun_events_created_total", "type=\"" + std::string(to_string(t)) + "\"",
           f.events_created[static_cast<int>(t)]);

  family(out, "rundun_delivery_attempts_total", "counter", "Delivery attempts, by outcome.");
  std::pair<const char*, std::uint64_t> outcomes[] = {
      {"2xx", f.attempts_2xx},    {"3xx", f.attempts_3xx},         {"4xx", f.attempts_4xx},
      {"5xx", f.attempts_5xx},    {"timeout", f.attempts_timeout}, {"connect", f.attempts_connect},
      {"other", f.attempts_other}};
  for (auto& [label, n] : outcomes)
    sample(out, "rundun_delivery_attempts_total", std::string("outcome=\"") + label + "\"", n);

  family(out, "rundun_deliveries_delivered_total", "counter", "Events delivered.");
  sample(out, "rundun_deliveries_delivered_total", "", f.delivered);
  family(out, "rundun_deliveries_failed_total", "counter", "Events that failed for good.");
  sample(out, "rundun_deliveries_failed_total", "", f.failed);
  family(out, "rundun_deliveries_in_flight", "gauge", "Delivery requests in flight.");
  sample(out, "rundun_deliveries_in_flight", "", f.in_flight);
  family(out, "rundun_active_runs", "gauge", "Runs with a live run actor.");
  sample(out, "rundun_active_runs", "", f.active_runs);
  family(out, "rundun_endpoint_actors", "gauge", "Live endpoint delivery actors.");
  sample(out, "rundun_endpoint_actors", "", f.endpoint_actors);
  family(out, "rundun_open_connections", "gauge", "Open API connections.");
  sample(out, "rundun_open_connections", "", open_connections);

  family(out, "rundun_lmdb_commit_batches_total", "counter", "LMDB group commits.");
  sample(out, "rundun_lmdb_commit_batches_total", "", f.commit_batches);
  family(out, "rundun_lmdb_commit_writes_total", "counter", "Writes in LMDB group commits.");
  sample(out, "rundun_lmdb_commit_writes_total", "", f.commit_writes);
  family(out, "rundun_lmdb_commit_failures_total", "counter", "Writes that failed to commit.");
  sample(out, "rundun_lmdb_commit_failures_total", "", f.commit_failures);
  family(out, "rundun_lmdb_commit_seconds_total", "counter", "Time spent in group commits.");
  out += "rundun_lmdb_commit_seconds_total " +
         std::to_string(static_cast<double>(f.commit_micros) / 1e6) + "\n";

  family(out, "rundun_api_requests_total", "counter", "API requests, by route and status.");
  for (auto& r : requests)
    sample(out, "rundun_api_requests_total",
           "route=\"" + r.route + "\",status=\"" + std::to_string(r.status) + "\"", r.count);
  return out;
}

} // namespace rundun::api
