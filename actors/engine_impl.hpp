#pragma once

// The engine's insides, shared by the files that implement the facade of engine.hpp:
//   engine.cpp           wiring: open, shutdown, and what is resumed at start
//   engine_commands.cpp  the commands (templates, runs, actions, redelivery, recovery)
//   engine_photos.cpp    photo uploads and the media queue
//   engine_queries.cpp   the reads: get_…, read_…, list_…
//   engine_figures.cpp   /metrics' figures and the store's health
// Internal: only those files include it, and it is not installed (engine.hpp is the public
// header, and does not include CAF; this one does).

#include "actors/engine.hpp"
#include "actors/engine_context.hpp"
#include "net/url.hpp"

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <caf/actor.hpp>
#include <caf/fwd.hpp>

namespace rundun {

struct run_command;
/// The actor system's configuration (engine.cpp).
class engine_config;

struct engine::impl {
  engine_options opts;
  std::unique_ptr<persistence::store> store;
  engine_counters counters;
  in_flight_table in_flight;
  /// Every endpoint actor's signers; made in `open` with the configured bound.
  std::optional<net::signer_cache> signers;
  boost::asio::io_context io;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work;
  std::vector<std::thread> io_threads;
  /// Decoding uploads and making thumbnails: CPU work kept off the actor and io threads.
  boost::asio::thread_pool media{1};
  /// Uploads posted to `media` and not finished: bounded by opts.media_queue_limit.
  std::atomic<std::size_t> media_queued{0};
  /// The asynchronous queries (`read_…`) and the recoveries' scans: store reads, off the
  /// actor, io and media threads.
  boost::asio::thread_pool reads{1};
  std::unique_ptr<engine_config> cfg;
  std::unique_ptr<caf::actor_system> system;
  std::shared_ptr<engine_context> ctx;
  caf::actor retention;
  /// Sends the operator's notices; only with an operator webhook.
  caf::actor notifier;
  bool stopped = false;
  /// Set once the engine shuts down: a dropped command is then answered, not sent again.
  std::atomic<bool> closing{false};
  /// The `Idempotency-Key`s whose first request is being handled now.
  keys_in_progress keys;
  /// Endpoint key -> host, for /metrics' backlog labels (see figures()).
  std::mutex hosts_mtx;
  std::unordered_map<std::string, std::string> hosts;

  // -- wiring (engine.cpp) -------------------------------------------------------

  ~impl();

  /// Starts the HTTP client's io threads (opts.io_threads, at least one).
  void start_io_threads();

  /// Starts the actor system and the engine's long-lived actors, with the context they
  /// share; sets `ctx`. `proxy`: the parsed `opts.egress_proxy`, or null.
  void start_actors(std::shared_ptr<boost::asio::ssl::context> tls,
                    std::shared_ptr<net::resolver> resolver,
                    std::shared_ptr<const net::egress_proxy> proxy);

  /// Has the store make the operator's notices (counted, logged and given to the observer),
  /// and with an operator webhook keep them for the notifier actor that it starts
  /// (operator_notifier.hpp).
  void start_notices(const std::shared_ptr<const engine_context>& shared);

  /// The context every actor shares, made from `opts` and the engine's own parts.
  std::shared_ptr<engine_context> make_context(std::shared_ptr<boost::asio::ssl::context> tls,
                                               std::shared_ptr<net::resolver> resolver,
                                               std::shared_ptr<const net::egress_proxy> proxy);

  /// At start: wakes the endpoints with pending deliveries and resumes the recoveries that
  /// were in progress.
  void recover();

  // -- commands (engine_commands.cpp) ---------------------------------------------

  /// Refuses new work while the store's writer has more queued than it should take.
  std::optional<domain_error> shed_if_store_busy() const;

  /// Sends `cmd` to its run's actor, through the run directory; the actor that settles it
  /// calls `done` (see command_reply_to.hpp). No actor is spawned to wait for the answer.
  void command(run_command cmd, callback<run_record> done, bool first_try = true);

  /// Stores a new template, with `key` (its `created` filled here) in the same write.
  void store_template(const template_record& rec, std::optional<idempotency_record> key,
                      callback<template_record> done);
  /// Checks and stores a new run, with `key` (its `created` filled here) in the same write.
  void store_run(const run_spec& spec, std::optional<idempotency_record> key,
                 callback<created_run> done);

  /// A creation under an `Idempotency-Key` (engine_idempotency.cpp): `create(record,
  /// done)` stores what the request makes together with `record`; `replay(record)` decodes
  /// what the key's first request made.
  template <class T, class Create, class Replay>
  void keyed_creation(keyed_route route, const idempotency_key& k, std::string fingerprint,
                      Create create, Replay replay, callback<keyed_answer<T>> done);

  // -- photos (engine_photos.cpp) -------------------------------------------------

  /// On the media thread, once an upload is decoded: adds the photo `rec`, with its
  /// original bytes and thumbnail, to its run through the run's actor.
  void add_rendered_photo(photo_record rec, std::string bytes, std::string thumbnail_jpeg,
                          callback<uploaded_photo> done);

  // -- figures (engine_figures.cpp) -----------------------------------------------

  /// Fills `f.pending_total` and `f.largest_backlogs` from the store's pending counts,
  /// keeping the hosts of the endpoints with a backlog in `hosts`.
  void count_backlogs(engine_figures& f);
};

/// Helpers of more than one of the engine's files.
namespace engine_detail {

inline domain_error storage_failure(const boost::system::error_code& ec) {
  return {error_kind::storage, "storage_error", "the store failed: " + ec.message(), {}};
}

/// A store lookup as a query answers it: the record, `404 code` when absent, or a storage
/// error.
template <class T>
outcome<T> from_read(persistence::result<std::optional<T>> r, const char* code,
                     const char* message) {
  if (!r)
    return storage_failure(r.error());
  if (!*r)
    return not_found(code, message);
  return std::move(**r);
}

/// The endpoint key of a webhook URL as a filter or a recovery names it.
inline outcome<std::string> key_of_url(std::string_view field, std::string_view url) {
  auto parsed = net::parse_url(url);
  if (!parsed)
    return invalid_field(std::string(field) + " " + parsed.error().message());
  return net::endpoint_key(*parsed);
}

} // namespace engine_detail

} // namespace rundun
