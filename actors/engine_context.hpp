#pragma once

#include "actors/fault_injection.hpp"
#include "actors/in_flight_table.hpp"
#include "net/egress_proxy.hpp"
#include "net/resolver.hpp"
#include "net/retry_policy.hpp"
#include "net/signer_cache.hpp"
#include "persistence/ids.hpp"
#include "persistence/store.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <caf/actor.hpp>

namespace rundun {

/// Counters the actors bump and /metrics reads. Relaxed atomics: they are statistics.
struct engine_counters {
  std::atomic<std::uint64_t> events_created[5] = {};
  std::atomic<std::uint64_t> attempts_2xx{0}, attempts_3xx{0}, attempts_4xx{0}, attempts_5xx{0},
      attempts_timeout{0}, attempts_connect{0}, attempts_tls{0}, attempts_refused{0},
      attempts_proxy{0}, attempts_other{0};
  std::atomic<std::uint64_t> delivered{0}, failed{0};
  std::atomic<std::int64_t> run_actors{0}, live_endpoint_actors{0}, in_flight{0};
  /// Actors that ended with an exception, by kind; their siblings went on.
  std::atomic<std::uint64_t> run_actor_failures{0}, endpoint_actor_failures{0};
  /// What retention removed: ended runs, and their events.
  std::atomic<std::uint64_t> retention_runs_removed{0}, retention_events_removed{0};
  /// `Idempotency-Key`s removed after their 24 h.
  std::atomic<std::uint64_t> idempotency_keys_expired{0};
  /// Endpoints disabled after failing for `endpoint_disable_after`.
  std::atomic<std::uint64_t> endpoints_disabled{0};
  /// Operator notices made (by notice_type - 1), delivered, and failed for good.
  std::atomic<std::uint64_t> notices_made[3] = {};
  std::atomic<std::uint64_t> notices_delivered{0}, notices_failed{0};
  /// Creations answered again from their `Idempotency-Key`.
  std::atomic<std::uint64_t> idempotency_replays{0};
  /// From an event's creation to the 2xx that delivered it, retries included.
  latency_histogram delivery_latency{delivery_latency_bounds};
};

/// What every actor of one engine shares: the store, the io_context of the HTTP client, the
/// delivery settings and the two directories. Built once by the engine before any actor
/// starts and never changed after; the actors read it from any thread.
struct engine_context {
  persistence::store* store = nullptr;
  boost::asio::io_context* io = nullptr;
  /// The engine's read thread (the one that answers the `read_…` queries): long store scans
  /// run there, one bounded page per task, so that they never hold an actor thread. A task
  /// captures an actor handle and sends its result back (`caf::anon_send`); it never
  /// touches actor state. Used by the recovery actors.
  boost::asio::thread_pool* reads = nullptr;
  net::retry_schedule schedule;
  std::chrono::milliseconds delivery_timeout{10'000};
  std::size_t endpoint_concurrency = 16;
  /// Most deliveries one endpoint actor keeps in memory; the rest stay in LMDB.
  std::size_t window = 1024;
  /// TLS settings of https deliveries, shared by every endpoint.
  std::shared_ptr<boost::asio::ssl::context> tls;
  bool allow_private_destinations = false;
  /// The HTTP proxy every delivery goes through, or null (see engine_options::egress_proxy).
  std::shared_ptr<const net::egress_proxy> egress_proxy;
  /// Looks up webhook host names for every endpoint's HTTP client: one cache and one
  /// socket to the name servers for the whole engine (thread-safe).
  std::shared_ptr<net::resolver> resolver;
  engine_counters* counters = nullptr;
  /// Attempts in flight per endpoint, for GET /v1/endpoints.
  in_flight_table* in_flight = nullptr;
  /// The webhook signers of every endpoint actor, bounded over the engine (thread-safe).
  net::signer_cache* signers = nullptr;
  /// A run actor with no command for this long leaves; its run stays in the store.
  std::chrono::milliseconds run_idle_timeout{60'000};
  /// An endpoint actor with nothing to do for this long leaves.
  std::chrono::milliseconds endpoint_idle_timeout{300'000};
  /// An endpoint failing for this long is disabled; zero never (engine_options).
  std::chrono::milliseconds endpoint_disable_after{0};
  /// Keep-alive connections unused for this long are closed.
  std::chrono::milliseconds connection_idle_timeout{30'000};
  /// Test hooks at the failure points; empty in production.
  fault_injection faults;
  /// Makes the ids of new runs, events and photos (marked with this node in a cluster).
  id_minter ids;
  caf::actor run_directory;
  caf::actor delivery_directory;
  caf::actor expiry_scheduler;
};

} // namespace rundun
