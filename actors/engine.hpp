#pragma once

// The delivery engine as a C++ library: what rundund's HTTP API calls, what a backend embeds,
// and what the benchmarks drive. This header does not include CAF.

#include "actors/fault_injection.hpp"
#include "actors/idempotency.hpp"
#include "actors/reader.hpp"
#include "actors/run_logic.hpp"
#include "actors/specs.hpp"
#include "net/retry_policy.hpp"
#include "net/signer_cache.hpp"
#include "persistence/domain_error.hpp"
#include "persistence/latency_histogram.hpp"
#include "persistence/listing.hpp"
#include "persistence/model.hpp"
#include "persistence/operator_notice.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace rundun {

/// How an engine runs. The defaults are the server's.
struct engine_options {
  std::filesystem::path data_dir = "./rundun-data";
  std::size_t map_size = std::size_t{64} << 30;
  net::retry_schedule retry = net::default_retry_schedule();
  /// One attempt: connect + request + response.
  std::chrono::milliseconds delivery_timeout{10'000};
  /// Requests in flight at once to one endpoint.
  std::size_t endpoint_concurrency = 16;
  /// Deliveries one endpoint keeps in memory; the rest of its backlog stays in LMDB.
  std::size_t endpoint_window = 1024;
  /// Allow webhook URLs that point at loopback or private addresses.
  bool allow_private_destinations = false;
  /// An extra CA bundle trusted for HTTPS delivery, beside the system trust store.
  std::optional<std::string> ca_file;
  /// Every delivery goes through this HTTP proxy, `http://[user:password@]host:port`, as a
  /// CONNECT tunnel to the address the destination guard checked (net/egress_proxy.hpp).
  /// A malformed one makes `open` fail with `invalid_egress_proxy`; its message never quotes
  /// the URL. None: deliveries connect directly.
  std::optional<std::string> egress_proxy;
  /// Name servers for webhook host names, as `ip:port` (comma-separated), instead of those in
  /// /etc/resolv.conf. For tests, which point it at a DNS server on loopback; rundund has no
  /// flag for it.
  std::optional<std::string> dns_servers;
  /// A run's actor leaves after this long without a command, and comes back with the next
  /// one: open runs cost memory only while someone works on them.
  std::chrono::milliseconds run_idle_timeout{60'000};
  /// An endpoint's actor with nothing to do for this long leaves (its keep-alive
  /// connections with it); the endpoint's next event brings one back.
  std::chrono::milliseconds endpoint_idle_timeout{300'000};
  /// A keep-alive connection to an endpoint unused for this long is closed.
  std::chrono::milliseconds connection_idle_timeout{30'000};
  /// Webhook signers (keyed HMAC contexts, about 1 KiB each) the engine keeps at most, over
  /// all endpoints: the least recently used secret's goes first.
  std::size_t signer_cache_capacity = net::signer_cache::default_capacity;
  /// Ended runs (with their events, attempts and photos) are removed this long after they
  /// ended; zero keeps everything.
  std::chrono::milliseconds retention{std::chrono::hours{24 * 30}};
  /// Photo uploads waiting for the media thread at most (each up to 10 MiB); more are
  /// refused with `503 overloaded` and a Retry-After.
  std::size_t media_queue_limit = 32;
  /// Writes queued for the store at most before new commands are refused with `503
  /// overloaded` (deliveries' own writes always go through).
  std::size_t store_queue_limit = 16384;
  /// An endpoint whose every attempt has failed for this long is disabled (contract §7): its
  /// waiting events fail with `endpoint_disabled`, and so do its new ones, unsent, until a
  /// recovery enables it again. Zero never disables.
  std::chrono::milliseconds endpoint_disable_after{std::chrono::hours{24 * 5}};
  /// Where the operator's notices go (contract §7): an `http` or `https` URL, or none. The
  /// destination guard does not apply to it. A bad one makes `open` fail with
  /// `invalid_operator_webhook`.
  std::optional<std::string> operator_webhook;
  /// The `whsec_…` secret that signs the operator's notices; required with
  /// `operator_webhook` (`invalid_operator_webhook_secret` otherwise).
  std::optional<std::string> operator_webhook_secret;
  /// Called with each operator notice once it is durable, with or without an operator
  /// webhook: `endpoint.failing`, `endpoint.disabled` and `endpoint.recovered`, each once
  /// per run of failures. It runs on the store's writer thread: keep it short, and do not
  /// call the engine from it. A crash between the commit and the call skips the call (the
  /// webhook's delivery, which is durable, does not).
  std::function<void(const operator_notice&)> on_notice;
  /// The node this engine is in a cluster, or none for a single node. A node's new ids and
  /// link tokens carry its mark (see persistence/ids.hpp), and its data dir remembers the
  /// node id: a data dir made for another node is refused.
  std::optional<std::string> node_id;
  /// Test hooks that make a write fail or an actor throw; empty in production.
  fault_injection faults;
  /// Threads of the actor scheduler and of the HTTP client.
  std::size_t actor_threads = 2;
  std::size_t io_threads = 1;
};

/// A new run as `create_run` returns it; the secret is shown only when it was generated.
struct created_run {
  run_record run;
  bool secret_generated = false;
};

/// What a creation with an `Idempotency-Key` answers (contract §4): what the key's first
/// request created, as it was created, and whether this answer is a replay of it.
template <class T>
struct keyed_answer {
  T created;
  bool replayed = false;
};

/// A photo as its upload's answer describes it.
struct uploaded_photo {
  photo_id id;
  int width = 0; ///< as displayed
  int height = 0;
};

/// An event as `GET /v1/events` lists it: with its endpoint's URL (empty when it has none).
struct listed_event {
  event_record event;
  std::string endpoint_url;
};

/// A recovery as it started: the failed events it sends again, and those it leaves out
/// because their run's webhook is off (a 410).
struct recovery_started {
  std::uint64_t recovering = 0;
  std::uint64_t skipped_webhook_disabled = 0;
};

/// Figures for /metrics.
struct engine_figures {
  std::uint64_t events_created[5] = {};
  std::uint64_t attempts_2xx = 0, attempts_3xx = 0, attempts_4xx = 0, attempts_5xx = 0,
                attempts_timeout = 0, attempts_connect = 0, attempts_tls = 0, attempts_refused = 0,
                attempts_proxy = 0, attempts_other = 0;
  std::uint64_t delivered = 0, failed = 0;
  /// Run actors resident now (a run's actor lives only while the run is worked on).
  std::int64_t run_actors = 0, endpoint_actors = 0, in_flight = 0;
  /// Runs whose status is active, from the store.
  std::uint64_t active_runs = 0;
  /// Actors that failed (threw) and were contained, by kind.
  std::uint64_t run_actor_failures = 0, endpoint_actor_failures = 0;
  /// Photo uploads waiting for (or on) the media thread, and writes queued for the store.
  std::uint64_t media_queue = 0, store_queue = 0;
  /// What retention removed so far: ended runs and their events.
  std::uint64_t retention_runs_removed = 0, retention_events_removed = 0;
  /// Endpoints disabled after failing for `endpoint_disable_after`.
  std::uint64_t endpoints_disabled = 0;
  /// Operator notices made, by type (failing, disabled, recovered); delivered; failed after
  /// their last attempt.
  std::uint64_t notices_made[3] = {};
  std::uint64_t notices_delivered = 0, notices_failed = 0;
  /// Creations answered from their `Idempotency-Key`; keys being handled now; keys expired.
  std::uint64_t idempotency_replays = 0, idempotency_keys_in_progress = 0,
                idempotency_keys_expired = 0;
  /// Every actor of the engine's actor system that is running.
  std::size_t live_actors = 0;
  /// Webhook signers cached now, and the most the engine keeps.
  std::size_t signers_cached = 0, signers_capacity = 0;
  std::uint64_t commit_batches = 0, commit_writes = 0, commit_failures = 0, commit_micros = 0;
  latency_histogram::snapshot delivery_latency, commit_latency;
  /// Deliveries waiting (or in flight), in total and per host for the largest backlogs.
  std::uint64_t pending_total = 0;
  std::vector<std::pair<std::string, std::uint64_t>> largest_backlogs;
};

/// How many hosts /metrics lists by backlog.
constexpr std::size_t backlog_hosts_listed = 10;

/// The engine: templates, runs and their actors, event delivery, and the LMDB store.
///
/// Commands are asynchronous: the callback runs once, on an engine thread (an actor's or
/// the store writer's), after the change is durable; keep it short and do not block in it.
/// Queries come in two forms: synchronous reads of the store (`get_…`), callable on any
/// thread, and the asynchronous `reader` form (`read_…`), answered on one of the engine's
/// threads, which a cluster node also answers for its peers.
class engine final : public reader {
public:
  /// Opens the store in `opts.data_dir`, starts the actors, and resumes what was pending:
  /// active runs get their expiry timers back and pending deliveries go out.
  static outcome<std::unique_ptr<engine>> open(engine_options opts);

  ~engine();
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  /// Lets the attempts in flight finish (at most the delivery timeout), then stops the
  /// actors. Idempotent; the destructor calls it.
  void shutdown();

  // -- commands ---------------------------------------------------------------

  void create_template(const template_spec& spec, callback<template_record> done);
  /// Stores a template made elsewhere (by another node of a cluster) as it is, id included.
  /// Templates never change, so storing one twice is harmless.
  void adopt_template(const template_record& rec, callback<template_record> done);
  void create_run(const run_spec& spec, callback<created_run> done);
  /// The same creations under an `Idempotency-Key` (contract §4). The key is stored in the
  /// commit that stores what the request created, and holds for 24 h and across restarts:
  /// a request with the same key and fingerprint (see idempotency_key) gets the first
  /// answer again (`replayed`) and creates nothing. Refusals, besides the creation's own:
  /// `400 invalid_idempotency_key`; `409 idempotency_key_reused` for the key used on the
  /// other route or with another fingerprint; `409 idempotency_key_in_progress` while the
  /// key's first request is being handled. A refused request does not use up its key. In a
  /// cluster, the node that owns the key decides (api/cluster_front.hpp).
  void create_template(const template_spec& spec, const idempotency_key& key,
                       callback<keyed_answer<template_record>> done);
  void create_run(const run_spec& spec, const idempotency_key& key,
                  callback<keyed_answer<created_run>> done);
  /// An executor's action through the run link `token`: answer, skip, submit or exit.
  void act(std::string_view token, run_action action, std::string step_id, std::string answer_json,
           callback<run_record> done);
  /// Adds a photo to a pending step through the run link `token`. `content_type` is
  /// `image/jpeg` or `image/png` (else 415). The image is decoded and its thumbnail made on
  /// the engine's media thread; refusals: `400 invalid_image` (not a valid image of that
  /// type), `400 image_too_large` (over 50 megapixels), `409 too_many_photos`, and the step
  /// and run refusals of the other actions.
  void add_photo(std::string_view token, std::string step_id, std::string content_type,
                 std::string bytes, callback<uploaded_photo> done);
  /// Cancels an active run (reason `api`).
  void cancel(const run_id& id, callback<run_record> done);
  /// Sends a delivered or failed event again now.
  void redeliver(const event_id& id, callback<std::monostate> done);

  // -- queries ----------------------------------------------------------------

  outcome<template_record> get_template(const template_id& id) const;
  outcome<run_record> get_run(const run_id& id) const;
  outcome<run_record> get_run_by_token(std::string_view token) const;
  outcome<photo_content> get_photo(const photo_id& id) const;
  /// A photo's thumbnail (a JPEG) through the run link `token`: only the link's own run's
  /// photos; any other id is `404 photo_not_found`.
  outcome<photo_content> get_photo_thumbnail(std::string_view token, const photo_id& id) const;
  /// A run's events in creation order, with their delivery state.
  outcome<std::vector<event_record>> get_events(const run_id& id) const;

  // The same reads, asynchronous (see reader.hpp).
  void read_template(template_id id, callback<template_record> done) override;
  void read_run(run_id id, callback<run_record> done) override;
  void read_run_by_token(std::string token, callback<run_record> done) override;
  void read_events(run_id id, callback<std::vector<event_record>> done) override;
  void read_photo(photo_id id, callback<photo_content> done) override;
  void read_photo_thumbnail(std::string token, photo_id id, callback<photo_content> done) override;

  // -- lists, endpoints and recovery (contract §8) -----------------------------
  //
  // Reads of the store, callable on any thread; each reads at most list_scan_budget index
  // entries, so it is short.

  outcome<list_page<run_record>> list_runs(const run_filter& f, const list_request& r) const;
  outcome<list_page<listed_event>> list_events(const event_filter& f, const list_request& r) const;
  /// The endpoint key of a webhook URL, for an event filter; `400` for a URL that is not one.
  outcome<std::string> endpoint_key(std::string_view url) const;
  /// A page of the endpoints that have events, by rank (failing first), then by URL, of
  /// rank `only` if given (see store::list_endpoints), each with its figures, next attempt,
  /// recovery and attempts in flight now. Reads about `r.limit` index entries.
  outcome<list_page<endpoint_health>> list_endpoints(std::optional<endpoint_rank> only,
                                                     const list_request& r) const;
  /// Sends every failed event to `url` created at or after `since` again, in the background,
  /// each run's in creation order. `404 endpoint_not_found` for a URL no event was sent to;
  /// `409 recovery_in_progress` while a recovery of that URL still runs (its job is stored,
  /// or events it marked still wait for their attempt), and nothing changes. The events are
  /// counted and marked on the engine's read thread and store writer, never on an actor
  /// thread; `done` runs once the job is durable.
  void recover(std::string_view url, time_point since, callback<recovery_started> done);

  engine_figures figures() const;
  /// Empty while the store can write; else why it cannot (a full map or disk, an I/O error,
  /// a read-only file, or a panicked environment), for /healthz (`503 store_failed`). It is
  /// empty again after the first write that is stored; a panicked environment stays until
  /// the process restarts.
  std::optional<std::string> store_failure() const;
  const engine_options& options() const;

private:
  struct impl;
  explicit engine(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace rundun
