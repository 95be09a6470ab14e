// What /metrics and /healthz read of the engine: its counters, the store's commit figures,
// the backlogs by host, and whether the store can write.

#include "actors/engine_impl.hpp"

#include "persistence/store.hpp"

#include <algorithm>

#include <caf/actor_registry.hpp>
#include <caf/actor_system.hpp>

namespace rundun {

namespace {

/// Copies the counters the actors bump into `f`.
void copy_counters(const engine_counters& c, engine_figures& f) {
  for (int i = 0; i < 5; ++i)
    f.events_created[i] = c.events_created[i].load();
  f.attempts_2xx = c.attempts_2xx;
  f.attempts_3xx = c.attempts_3xx;
  f.attempts_4xx = c.attempts_4xx;
  f.attempts_5xx = c.attempts_5xx;
  f.attempts_timeout = c.attempts_timeout;
  f.attempts_connect = c.attempts_connect;
  f.attempts_tls = c.attempts_tls;
  f.attempts_refused = c.attempts_refused;
  f.attempts_proxy = c.attempts_proxy;
  f.attempts_other = c.attempts_other;
  f.delivered = c.delivered;
  f.failed = c.failed;
  f.run_actors = c.run_actors;
  f.run_actor_failures = c.run_actor_failures;
  f.endpoint_actor_failures = c.endpoint_actor_failures;
  f.retention_runs_removed = c.retention_runs_removed;
  f.retention_events_removed = c.retention_events_removed;
  f.idempotency_replays = c.idempotency_replays;
  f.endpoints_disabled = c.endpoints_disabled;
  for (int i = 0; i < 3; ++i)
    f.notices_made[i] = c.notices_made[i].load();
  f.notices_delivered = c.notices_delivered;
  f.notices_failed = c.notices_failed;
  f.idempotency_keys_expired = c.idempotency_keys_expired;
  f.endpoint_actors = c.live_endpoint_actors;
  f.in_flight = c.in_flight;
  f.delivery_latency = c.delivery_latency.read();
}

/// Copies the store writer's commit figures into `f`.
void copy_commit_stats(const persistence::commit_stats& s, engine_figures& f) {
  f.commit_batches = s.batches;
  f.commit_writes = s.writes;
  f.commit_failures = s.failures;
  f.commit_micros = s.commit_micros_total;
  f.commit_latency = s.commit_latency.read();
}

} // namespace

void engine::impl::count_backlogs(engine_figures& f) {
  // Backlogs by host: endpoints are keyed by a hash of their URL, and several may share a
  // host. Labels carry the host only, never a path (it may hold a customer's token). A
  // key's host is read from the store once and cached: a scrape at 100k endpoints is map
  // lookups, not 100k reads. The cache keeps only the keys with a backlog now.
  std::unordered_map<std::string, std::uint64_t> by_host;
  {
    std::lock_guard guard{hosts_mtx};
    std::unordered_map<std::string, std::string> seen;
    for (auto& [key, n] : store->pending_counts()) {
      f.pending_total += n;
      auto it = hosts.find(key);
      std::string host;
      if (it != hosts.end()) {
        host = std::move(it->second);
      } else {
        host = "unknown";
        if (auto url = store->endpoint_url(key); url && *url)
          if (auto parsed = net::parse_url(**url))
            host = parsed->host;
      }
      by_host[host] += n;
      seen.emplace(key, std::move(host));
    }
    hosts = std::move(seen);
  }
  f.largest_backlogs.assign(by_host.begin(), by_host.end());
  auto listed = std::min(backlog_hosts_listed, f.largest_backlogs.size());
  std::partial_sort(f.largest_backlogs.begin(), f.largest_backlogs.begin() + listed,
                    f.largest_backlogs.end(), [](auto& a, auto& b) { return a.second > b.second; });
  f.largest_backlogs.resize(listed);
}

engine_figures engine::figures() const {
  auto& p = *impl_;
  engine_figures f;
  copy_counters(p.counters, f);
  f.idempotency_keys_in_progress = p.keys.size();
  copy_commit_stats(p.store->stats(), f);
  f.media_queue = p.media_queued.load();
  f.store_queue = p.store->queue_depth();
  if (auto n = p.store->active_run_count())
    f.active_runs = *n;
  f.live_actors = p.system->registry().running();
  f.signers_cached = p.signers->size();
  f.signers_capacity = p.signers->capacity();
  p.count_backlogs(f);
  return f;
}

std::optional<std::string> engine::store_failure() const {
  if (auto ec = impl_->store->write_failure())
    return "the store cannot write: " + ec->message();
  return std::nullopt;
}

} // namespace rundun
