#include "actors/engine.hpp"

#include "actors/delivery_directory.hpp"
#include "actors/engine_context.hpp"
#include "actors/expiry_scheduler.hpp"
#include "actors/message_types.hpp"
#include "actors/messages.hpp"
#include "actors/retention.hpp"
#include "actors/run_directory.hpp"
#include "media/thumbnail.hpp"
#include "net/log.hpp"
#include "net/tls_context.hpp"
#include "net/url.hpp"
#include "persistence/record_codec.hpp"
#include "persistence/store.hpp"

#include <algorithm>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include <pthread.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <caf/all.hpp>

namespace rundun {

namespace {

domain_error storage_failure(const boost::system::error_code& ec) {
  return {error_kind::storage, "storage_error", "the store failed: " + ec.message(), {}};
}

template <class T>
outcome<T> from_read(persistence::result<std::optional<T>> r, const char* code,
                     const char* message) {
  if (!r)
    return storage_failure(r.error());
  if (!*r)
    return not_found(code, message);
  return std::move(**r);
}

class engine_config : public caf::actor_system_config {
public:
  explicit engine_config(std::size_t threads) {
    register_message_types(*this);
    set("scheduler.max-threads", threads);
    set("logger.verbosity", caf::atom("quiet"));
  }
};

} // namespace

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
  bool stopped = false;
  /// Endpoint key -> host, for /metrics' backlog labels (see figures()).
  std::mutex hosts_mtx;
  std::unordered_map<std::string, std::string> hosts;

  ~impl() {
    // Order matters: io threads first (no more completions), then the store's writer (its
    // callbacks message actors, so it must finish while the actor system lives), then the
    // actors (they own the HTTP clients bound to `io`), then `io` and the store.
    media.join();
    reads.join();
    if (work)
      work.reset();
    io.stop();
    for (auto& t : io_threads)
      t.join();
    if (store)
      store->close_writer();
    system.reset();
  }

  /// Sends a request to `dest` from a short-lived actor and hands the answer to `on_reply`,
  /// or the error to `on_error`. Callable from any thread.
  template <class Reply, class OnReply, class OnError, class... Ts>
  void ask(caf::actor dest, OnReply on_reply, OnError on_error, Ts... xs) {
    // The arguments are moved into the request, not copied: a photo command carries up to
    // 10 MiB.
    system->spawn(
        [dest, on_reply, on_error, ... xs = std::move(xs)](caf::event_based_actor* self) mutable {
          // No timeout: CAF keeps a request's timeout timer, and with it the requesting actor and
          // its captures, alive until the timer fires, even after the answer came: at thousands
          // of commands a second that held hundreds of MiB. Every request here is answered, with
          // a reply or with an error when its receiver is gone.
          self->request(dest, caf::infinite, std::move(xs)...)
              .then([=](Reply& r) { on_reply(r); }, [=](caf::error& e) { on_error(e); });
        });
  }

  /// Refuses new work while the store's writer has more queued than it should take.
  std::optional<domain_error> shed_if_store_busy() const {
    if (store->queue_depth() <= opts.store_queue_limit)
      return std::nullopt;
    return domain_error{error_kind::overloaded,
                        "overloaded",
                        "the server is storing too much at once; try again shortly",
                        {}};
  }

  void command(run_command cmd, callback<run_record> done, bool first_try = true) {
    if (auto busy = shed_if_store_busy())
      return done(*busy);
    // Kept for the one retry below; the request gets its own copy (a photo's bytes included).
    auto kept = std::make_shared<const run_command>(std::move(cmd));
    auto on_reply = [done](command_reply& r) {
      if (!r.ok)
        return done(r.error());
      done(std::move(r.run));
    };
    auto on_error = [this, done, kept, first_try](const caf::error& e) {
      // The run actor left between the directory's lookup and our command (its run just
      // ended): ask again, and the directory answers from the store.
      if (first_try && e == caf::sec::request_receiver_down)
        return command(*kept, done, false);
      done(domain_error{error_kind::storage,
                        "engine_error",
                        "the run could not take the command: " + system->render(e),
                        {}});
    };
    ask<command_reply>(ctx->run_directory, on_reply, on_error, command_atom::value,
                       run_command{*kept});
  }

  void recover() {
    // Runs need nothing: the expiry scheduler's first wake-up expires those that expired
    // while the server was down, and a run's actor comes back with its next command.
    // Endpoints with pending deliveries start paging them in; overdue retries go at once.
    if (auto endpoints = store->endpoints_with_pending())
      for (auto& key : *endpoints)
        if (auto url = store->endpoint_url(key); url && *url)
          caf::anon_send(ctx->delivery_directory, wake_atom::value, key, **url);
    // Recoveries in progress go on where their job stands.
    if (auto endpoints = store->endpoints_recovering())
      for (auto& key : *endpoints)
        if (auto url = store->endpoint_url(key); url && *url)
          caf::anon_send(ctx->delivery_directory, recover_atom::value, key, **url);
  }
};

namespace {

constexpr std::string_view node_meta_key = "node_id";

/// Writes the node id into a data dir that has none (new, or a single node's joining a
/// cluster), and refuses one that was made for another node: its runs' ids carry that
/// node's mark, so they would be looked for on the wrong node.
std::optional<domain_error> claim_node(persistence::store& store, const std::string& node,
                                       const std::filesystem::path& dir) {
  auto refuse = [&](std::string why) {
    return domain_error{error_kind::invalid_input, "node_mismatch", std::move(why), {}};
  };
  auto stored = store.meta(node_meta_key);
  if (!stored)
    return refuse("cannot read the node id of the data dir " + dir.string() + ": " +
                  stored.error().message());
  if (*stored && **stored != node)
    return refuse("the data dir " + dir.string() + " belongs to node '" + **stored + "', not to '" +
                  node + "'; start it with --node-id " + **stored);
  if (*stored)
    return std::nullopt;
  auto ec = store.write_sync(
      [&](persistence::write_batch& b) { return b.put_meta(node_meta_key, node); });
  if (ec)
    return refuse("cannot write the node id into the data dir " + dir.string() + ": " +
                  ec.message());
  return std::nullopt;
}

/// A store of an older format is moved over at open: say so, and how far it has got.
void log_migration(const persistence::migration_progress& p) {
  auto from = std::string(p.from_format), to = std::string(p.to_format);
  auto done = std::to_string(p.runs_done), total = std::to_string(p.runs_total);
  // `runs_done`, or `endpoints_done` for a step that counts endpoints.
  auto done_field = std::string(p.counted) + "_done",
       total_field = std::string(p.counted) + "_total";
  log::info(p.finished ? "the store is in the new format" : "moving the store to a new format",
            {{"from_format", from}, {"to_format", to}, {done_field, done}, {total_field, total}});
}

} // namespace

engine::engine(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

engine::~engine() {
  shutdown();
  // Queries still queued are answered now, while the engine they read through is whole.
  impl_->reads.join();
}

outcome<std::unique_ptr<engine>> engine::open(engine_options opts) {
  auto p = std::make_unique<impl>();
  p->opts = opts;
  auto s = persistence::store::open(opts.data_dir, opts.map_size, log_migration);
  if (!s)
    return domain_error{error_kind::storage,
                        "storage_error",
                        "cannot open the data dir " + opts.data_dir.string() + ": " +
                            s.error().message(),
                        {}};
  p->store = std::move(*s);
  if (opts.node_id)
    if (auto refused = claim_node(*p->store, *opts.node_id, opts.data_dir))
      return *refused;
  // What filled or failed, said once and then at most every 10 s while it lasts: a full
  // disk fails every commit.
  p->store->set_failure_observer(
      [dir = opts.data_dir.string(), last = std::chrono::steady_clock::time_point{},
       suppressed = std::size_t{0}](boost::system::error_code ec, std::size_t writes) mutable {
        constexpr auto quiet = std::chrono::seconds{10};
        auto t = std::chrono::steady_clock::now();
        if (last != std::chrono::steady_clock::time_point{} && t - last < quiet) {
          suppressed += writes;
          return;
        }
        last = t;
        log::error("the store could not commit",
                   {{"reason", ec.message()},
                    {"data_dir", dir},
                    {"writes_failed", std::to_string(writes)},
                    {"failed_since_last_line", std::to_string(std::exchange(suppressed, 0))}});
      });
  auto tls = net::make_client_tls_context(opts.ca_file);
  if (!tls)
    return domain_error{error_kind::invalid_input,
                        "invalid_ca_file",
                        "cannot use the CA file " + opts.ca_file.value_or("") + ": " +
                            tls.error().message(),
                        {}};
  auto resolver = net::resolver::make(p->io, net::resolver_options{.servers = opts.dns_servers});
  if (!resolver)
    return domain_error{error_kind::invalid_input,
                        "invalid_dns_servers",
                        "cannot use the DNS servers " + opts.dns_servers.value_or("") + ": " +
                            resolver.error().message(),
                        {}};
  p->work.emplace(p->io.get_executor());
  for (std::size_t i = 0; i < std::max<std::size_t>(1, opts.io_threads); ++i)
    p->io_threads.emplace_back([io = &p->io] {
      pthread_setname_np(pthread_self(), "rundun-http");
      io->run();
    });
  p->cfg = std::make_unique<engine_config>(std::max<std::size_t>(1, opts.actor_threads));
  p->system = std::make_unique<caf::actor_system>(*p->cfg);
  p->system->await_actors_before_shutdown(false);

  auto ctx = std::make_shared<engine_context>();
  ctx->store = p->store.get();
  ctx->io = &p->io;
  ctx->reads = &p->reads;
  ctx->schedule = opts.retry;
  ctx->delivery_timeout = opts.delivery_timeout;
  ctx->endpoint_concurrency = std::max<std::size_t>(1, opts.endpoint_concurrency);
  ctx->window = std::max<std::size_t>(ctx->endpoint_concurrency, opts.endpoint_window);
  ctx->counters = &p->counters;
  ctx->in_flight = &p->in_flight;
  p->signers.emplace(opts.signer_cache_capacity);
  ctx->signers = &*p->signers;
  ctx->tls = std::move(*tls);
  ctx->run_idle_timeout = opts.run_idle_timeout;
  ctx->allow_private_destinations = opts.allow_private_destinations;
  ctx->resolver = std::move(*resolver);
  ctx->endpoint_idle_timeout = opts.endpoint_idle_timeout;
  ctx->connection_idle_timeout = opts.connection_idle_timeout;
  ctx->faults = opts.faults;
  ctx->ids = id_minter{opts.node_id ? std::optional{make_owner_mark(*opts.node_id)} : std::nullopt};
  std::shared_ptr<const engine_context> shared = ctx;
  ctx->run_directory = p->system->spawn(run_directory, shared);
  ctx->delivery_directory = p->system->spawn(delivery_directory, shared);
  ctx->expiry_scheduler = p->system->spawn(expiry_scheduler, shared);
  if (opts.retention.count() > 0)
    p->retention = p->system->spawn(
        retention, shared,
        retention_settings{opts.retention, retention_check_interval(opts.retention)});
  p->ctx = std::move(ctx);
  p->recover();
  return std::unique_ptr<engine>{new engine(std::move(p))};
}

void engine::shutdown() {
  auto& p = *impl_;
  if (p.stopped)
    return;
  p.stopped = true;
  {
    // Let attempts in flight end (each is bounded by the delivery timeout) so their results
    // are stored; what is not in flight is already on disk.
    caf::scoped_actor self{*p.system};
    self->request(p.ctx->delivery_directory, p.opts.delivery_timeout + std::chrono::seconds{1},
                  drain_atom::value)
        .receive([](bool) {}, [](caf::error&) {});
  }
  caf::anon_send_exit(p.ctx->run_directory, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(p.ctx->delivery_directory, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(p.ctx->expiry_scheduler, caf::exit_reason::user_shutdown);
  if (p.retention)
    caf::anon_send_exit(p.retention, caf::exit_reason::user_shutdown);
  // Every actor must have terminated before the actor system goes: a pending timer (a run's
  // expiry) that held the last reference to a live actor would otherwise destroy it on CAF
  // 0.17's clock thread, which deadlocks. The directories' children are linked to them.
  p.system->await_all_actors_done();
}

void engine::create_template(const template_spec& spec, callback<template_record> done) {
  if (auto busy = impl_->shed_if_store_busy())
    return done(*busy);
  auto rec = make_template(spec, now(), impl_->ctx->ids);
  if (!rec)
    return done(rec.error());
  adopt_template(*rec, std::move(done));
}

void engine::adopt_template(const template_record& rec, callback<template_record> done) {
  impl_->store->write([rec](persistence::write_batch& b) { return b.put_template(rec); },
                      [rec, done](boost::system::error_code ec) {
                        if (ec)
                          return done(storage_failure(ec));
                        done(rec);
                      });
}

void engine::create_run(const run_spec& spec, callback<created_run> done) {
  if (auto busy = impl_->shed_if_store_busy())
    return done(*busy);
  std::optional<checked_webhook> hook;
  if (spec.webhook) {
    auto checked = check_webhook(*spec.webhook, impl_->opts.allow_private_destinations);
    if (!checked)
      return done(checked.error());
    hook = std::move(*checked);
  }
  auto tmpl = get_template(spec.source_template);
  if (!tmpl) {
    if (tmpl.error().kind == error_kind::not_found)
      return done(not_found("template_not_found",
                            "no template has the id '" + spec.source_template.value + "'"));
    return done(tmpl.error());
  }
  auto run = make_run(spec, *tmpl, now(), impl_->ctx->ids);
  if (!run)
    return done(run.error());
  created_run out{std::move(*run), hook && hook->secret_generated};
  if (hook)
    out.run.webhook = std::move(hook->config);
  auto scheduler = impl_->ctx->expiry_scheduler;
  impl_->store->write([r = out.run](persistence::write_batch& b) { return b.put_run(r); },
                      [out, done, scheduler](boost::system::error_code ec) {
                        if (ec)
                          return done(storage_failure(ec));
                        // No actor yet: the run's first command brings one.
                        caf::anon_send(scheduler, watch_atom::value,
                                       to_unix_ms(out.run.expires_at));
                        done(out);
                      });
}

void engine::act(std::string_view token, run_action action, std::string step_id,
                 std::string answer_json, callback<run_record> done) {
  auto id = impl_->store->find_run_by_token(token);
  if (!id)
    return done(storage_failure(id.error()));
  if (!*id)
    return done(not_found("link_not_found", "no run has this link"));
  impl_->command({(*id)->value, action, std::move(step_id), std::move(answer_json), {}, {}, {}},
                 std::move(done));
}

void engine::add_photo(std::string_view token, std::string step_id, std::string content_type,
                       std::string bytes, callback<uploaded_photo> done) {
  media::image_format format;
  if (content_type == "image/jpeg")
    format = media::image_format::jpeg;
  else if (content_type == "image/png")
    format = media::image_format::png;
  else
    return done(domain_error{error_kind::unsupported,
                             "unsupported_media_type",
                             "Content-Type must be image/jpeg or image/png",
                             {}});
  // Cheap refusals first, so that nothing is decoded for a link or step that cannot take it.
  auto run = get_run_by_token(token);
  if (!run)
    return done(run.error());
  if (auto refusal = refuse_if_ended(*run))
    return done(*refusal);
  if (!run->find_step(step_id))
    return done(not_found("step_not_found", "step '" + step_id + "' is not in this run"));
  auto& p = *impl_;
  // A bounded queue: each upload holds up to 10 MiB until its thumbnail is made.
  if (p.media_queued.fetch_add(1) >= p.opts.media_queue_limit) {
    p.media_queued.fetch_sub(1);
    return done(domain_error{error_kind::overloaded,
                             "overloaded",
                             "too many photos are being processed; try again shortly",
                             {}});
  }
  boost::asio::post(p.media, [&p, id = run->id, step_id = std::move(step_id),
                              content_type = std::move(content_type), bytes = std::move(bytes),
                              format, done = std::move(done)]() mutable {
    if (p.opts.faults.before_media)
      p.opts.faults.before_media();
    auto rendered = media::render_photo(
        format, {reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
    // Decoded: the queue has room again (the bytes travel on, to the store, without copies).
    p.media_queued.fetch_sub(1);
    if (!rendered) {
      auto code =
          rendered.error() == media::errc::too_many_pixels ? "image_too_large" : "invalid_image";
      return done(domain_error{error_kind::invalid_input, code, rendered.error().message(), {}});
    }
    photo_record rec{p.ctx->ids.photo(),
                     id,
                     step_id,
                     content_type,
                     rendered->width,
                     rendered->height,
                     rendered->thumbnail_width,
                     rendered->thumbnail_height,
                     now()};
    uploaded_photo answer{rec.id, rec.width, rec.height};
    run_command cmd{id.value,
                    run_action::add_photo,
                    step_id,
                    {},
                    encode(rec),
                    std::move(bytes),
                    std::move(rendered->thumbnail_jpeg)};
    p.command(std::move(cmd), [answer, done](outcome<run_record> r) {
      if (!r)
        return done(r.error());
      done(answer);
    });
  });
}

void engine::cancel(const run_id& id, callback<run_record> done) {
  impl_->command({id.value, run_action::cancel, {}, {}, {}, {}, {}}, std::move(done));
}

void engine::redeliver(const event_id& id, callback<std::monostate> done) {
  auto& p = *impl_;
  auto ev = from_read(p.store->find_event(id), "event_not_found", "no event has this id");
  if (!ev)
    return done(ev.error());
  if (ev->endpoint.empty())
    return done(conflict("not_subscribed",
                         "the event's run has no webhook, or its webhook is not subscribed to " +
                             std::string(to_string(ev->type))));
  auto url = p.store->endpoint_url(ev->endpoint);
  std::string target;
  if (url && *url) {
    target = **url;
  } else if (auto run = p.store->find_run(ev->run); run && *run && (*run)->webhook) {
    auto parsed = net::parse_url((*run)->webhook->url);
    target = parsed ? parsed->normalized() : (*run)->webhook->url;
  }
  p.ask<redeliver_reply>(
      p.ctx->delivery_directory,
      [done](redeliver_reply& r) {
        if (r.code.empty())
          return done(std::monostate{});
        if (r.code == "event_not_found")
          return done(not_found(r.code, r.message));
        if (r.code == "storage_error")
          return done(domain_error{error_kind::storage, r.code, r.message, {}});
        done(conflict(r.code, r.message));
      },
      [this, done](const caf::error& e) {
        done(domain_error{error_kind::storage,
                          "engine_error",
                          "the endpoint could not take the request: " + impl_->system->render(e),
                          {}});
      },
      redeliver_atom::value, ev->endpoint, target, id.value);
}

outcome<template_record> engine::get_template(const template_id& id) const {
  return from_read(impl_->store->find_template(id), "template_not_found",
                   "no template has this id");
}

outcome<run_record> engine::get_run(const run_id& id) const {
  return from_read(impl_->store->find_run(id), "run_not_found", "no run has this id");
}

outcome<photo_content> engine::get_photo(const photo_id& id) const {
  auto rec = from_read(impl_->store->find_photo(id), "photo_not_found", "no photo has this id");
  if (!rec)
    return rec.error();
  auto bytes = from_read(impl_->store->photo_bytes(id), "photo_not_found", "no photo has this id");
  if (!bytes)
    return bytes.error();
  return photo_content{rec->content_type, std::move(*bytes)};
}

outcome<photo_content> engine::get_photo_thumbnail(std::string_view token,
                                                   const photo_id& id) const {
  auto run = impl_->store->find_run_by_token(token);
  if (!run)
    return storage_failure(run.error());
  if (!*run)
    return not_found("link_not_found", "no run has this link");
  auto photo = from_read(impl_->store->photo_thumbnail(id), "photo_not_found",
                         "no photo of this run has this id");
  if (!photo)
    return photo.error();
  // Another run's photo is as absent as one that does not exist.
  if (photo->record.run != **run)
    return not_found("photo_not_found", "no photo of this run has this id");
  return photo_content{"image/jpeg", std::move(photo->thumbnail_jpeg)};
}

outcome<run_record> engine::get_run_by_token(std::string_view token) const {
  auto id = impl_->store->find_run_by_token(token);
  if (!id)
    return storage_failure(id.error());
  if (!*id)
    return not_found("link_not_found", "no run has this link");
  return get_run(**id);
}

outcome<std::vector<event_record>> engine::get_events(const run_id& id) const {
  auto run = impl_->store->find_run(id);
  if (!run)
    return storage_failure(run.error());
  if (!*run)
    return not_found("run_not_found", "no run has this id");
  auto events = impl_->store->run_events(id);
  if (!events)
    return storage_failure(events.error());
  return std::move(*events);
}

// -- the queries' asynchronous form ----------------------------------------------------

namespace {

/// Runs `read` on the engine's read thread and hands its outcome to `done` there.
template <class Read, class Done>
void post_read(boost::asio::thread_pool& reads, Read read, Done done) {
  boost::asio::post(reads,
                    [read = std::move(read), done = std::move(done)]() mutable { done(read()); });
}

} // namespace

void engine::read_template(template_id id, callback<template_record> done) {
  post_read(
      impl_->reads, [this, id = std::move(id)] { return get_template(id); }, std::move(done));
}

void engine::read_run(run_id id, callback<run_record> done) {
  post_read(
      impl_->reads, [this, id = std::move(id)] { return get_run(id); }, std::move(done));
}

void engine::read_run_by_token(std::string token, callback<run_record> done) {
  post_read(
      impl_->reads, [this, token = std::move(token)] { return get_run_by_token(token); },
      std::move(done));
}

void engine::read_events(run_id id, callback<std::vector<event_record>> done) {
  post_read(
      impl_->reads, [this, id = std::move(id)] { return get_events(id); }, std::move(done));
}

void engine::read_photo(photo_id id, callback<photo_content> done) {
  post_read(
      impl_->reads, [this, id = std::move(id)] { return get_photo(id); }, std::move(done));
}

void engine::read_photo_thumbnail(std::string token, photo_id id, callback<photo_content> done) {
  post_read(
      impl_->reads,
      [this, token = std::move(token), id = std::move(id)] {
        return get_photo_thumbnail(token, id);
      },
      std::move(done));
}

// -- lists, endpoints and recovery (contract §8) ------------------------------------

namespace {

/// The endpoint key of a webhook URL as a filter or a recovery names it.
outcome<std::string> key_of_url(std::string_view field, std::string_view url) {
  auto parsed = net::parse_url(url);
  if (!parsed)
    return invalid_field(std::string(field) + " " + parsed.error().message());
  return net::endpoint_key(*parsed);
}

} // namespace

outcome<list_page<run_record>> engine::list_runs(const run_filter& f, const list_request& r) const {
  auto page = impl_->store->list_runs(f, r);
  if (!page)
    return storage_failure(page.error());
  return std::move(*page);
}

outcome<list_page<listed_event>> engine::list_events(const event_filter& f,
                                                     const list_request& r) const {
  auto page = impl_->store->list_events(f, r);
  if (!page)
    return storage_failure(page.error());
  list_page<listed_event> out;
  out.next = std::move(page->next);
  std::unordered_map<std::string, std::string> urls;
  for (auto& e : page->items) {
    std::string url;
    if (!e.endpoint.empty()) {
      auto it = urls.find(e.endpoint);
      if (it == urls.end()) {
        auto stored = impl_->store->endpoint_url(e.endpoint);
        it = urls.emplace(e.endpoint, stored && *stored ? **stored : std::string{}).first;
      }
      url = it->second;
    }
    out.items.push_back({std::move(e), std::move(url)});
  }
  return out;
}

outcome<std::string> engine::endpoint_key(std::string_view url) const {
  return key_of_url("endpoint", url);
}

outcome<list_page<endpoint_health>> engine::list_endpoints(std::optional<endpoint_rank> only,
                                                           const list_request& r) const {
  auto page = impl_->store->list_endpoints(only, r);
  if (!page)
    return storage_failure(page.error());
  // Live state, for the page only.
  for (auto& e : page->items)
    e.in_flight = impl_->in_flight.get(e.key);
  return std::move(*page);
}

void engine::recover(std::string_view url, time_point since, callback<recovery_started> done) {
  auto& p = *impl_;
  auto key = key_of_url("url", url);
  if (!key)
    return done(key.error());
  auto known = p.store->endpoint(*key);
  if (!known)
    return done(storage_failure(known.error()));
  if (!*known)
    return done(not_found("endpoint_not_found", "no event was ever sent to this url"));
  p.ask<recover_reply>(
      p.ctx->delivery_directory,
      [done](recover_reply& r) {
        if (r.code == recover_reply::in_progress)
          return done(conflict(r.code, r.message));
        if (!r.code.empty())
          return done(domain_error{error_kind::storage, r.code, r.message, {}});
        done(recovery_started{r.recovering, r.skipped_webhook_disabled});
      },
      [this, done](const caf::error& e) {
        done(domain_error{error_kind::storage,
                          "engine_error",
                          "the recovery could not start: " + impl_->system->render(e),
                          {}});
      },
      recover_atom::value, *key, (*known)->url, to_unix_ms(since));
}

engine_figures engine::figures() const {
  auto& c = impl_->counters;
  auto& s = impl_->store->stats();
  engine_figures f;
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
  f.attempts_other = c.attempts_other;
  f.delivered = c.delivered;
  f.failed = c.failed;
  f.run_actors = c.run_actors;
  f.run_actor_failures = c.run_actor_failures;
  f.endpoint_actor_failures = c.endpoint_actor_failures;
  f.media_queue = impl_->media_queued.load();
  f.store_queue = impl_->store->queue_depth();
  f.retention_runs_removed = c.retention_runs_removed;
  f.retention_events_removed = c.retention_events_removed;
  if (auto n = impl_->store->active_run_count())
    f.active_runs = *n;
  f.endpoint_actors = c.live_endpoint_actors;
  f.in_flight = c.in_flight;
  f.commit_batches = s.batches;
  f.commit_writes = s.writes;
  f.commit_failures = s.failures;
  f.commit_micros = s.commit_micros_total;
  f.commit_latency = s.commit_latency.read();
  f.delivery_latency = c.delivery_latency.read();
  f.live_actors = impl_->system->registry().running();
  f.signers_cached = impl_->signers->size();
  f.signers_capacity = impl_->signers->capacity();
  // Backlogs by host: endpoints are keyed by a hash of their URL, and several may share a
  // host. Labels carry the host only, never a path (it may hold a customer's token). A
  // key's host is read from the store once and cached: a scrape at 100k endpoints is map
  // lookups, not 100k reads. The cache keeps only the keys with a backlog now.
  std::unordered_map<std::string, std::uint64_t> by_host;
  {
    auto& p = *impl_;
    std::lock_guard guard{p.hosts_mtx};
    std::unordered_map<std::string, std::string> seen;
    for (auto& [key, n] : p.store->pending_counts()) {
      f.pending_total += n;
      auto it = p.hosts.find(key);
      std::string host;
      if (it != p.hosts.end()) {
        host = std::move(it->second);
      } else {
        host = "unknown";
        if (auto url = p.store->endpoint_url(key); url && *url)
          if (auto parsed = net::parse_url(**url))
            host = parsed->host;
      }
      by_host[host] += n;
      seen.emplace(key, std::move(host));
    }
    p.hosts = std::move(seen);
  }
  f.largest_backlogs.assign(by_host.begin(), by_host.end());
  auto listed = std::min(backlog_hosts_listed, f.largest_backlogs.size());
  std::partial_sort(f.largest_backlogs.begin(), f.largest_backlogs.begin() + listed,
                    f.largest_backlogs.end(), [](auto& a, auto& b) { return a.second > b.second; });
  f.largest_backlogs.resize(listed);
  return f;
}

std::optional<std::string> engine::store_failure() const {
  if (auto ec = impl_->store->write_failure())
    return "the store cannot write: " + ec->message();
  return std::nullopt;
}

const engine_options& engine::options() const {
  return impl_->opts;
}

} // namespace rundun
