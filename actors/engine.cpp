// The engine's wiring: opening the store, starting the threads and the actors, resuming
// what was pending, and the orderly shutdown. The rest of the facade is in engine_*.cpp.

#include "actors/engine_impl.hpp"

#include "actors/delivery_directory.hpp"
#include "actors/expiry_scheduler.hpp"
#include "actors/message_types.hpp"
#include "actors/messages.hpp"
#include "actors/operator_notifier.hpp"
#include "actors/retention.hpp"
#include "actors/run_directory.hpp"
#include "net/log.hpp"
#include "net/signature.hpp"
#include "net/tls_context.hpp"
#include "persistence/store.hpp"

#include <algorithm>

#include <pthread.h>

#include <caf/all.hpp>

namespace rundun {

class engine_config : public caf::actor_system_config {
public:
  explicit engine_config(std::size_t threads) {
    register_message_types(*this);
    set("scheduler.max-threads", threads);
    set("logger.verbosity", caf::atom("quiet"));
    // An idle CAF 0.17 worker polls for work 100 times, then 500 more times with a 50 µs
    // sleep between polls, and only then waits on its condition variable. Under a steady
    // stream of events the workers keep falling idle between messages, and those 50 µs
    // wake-ups cost more CPU than the messages (benchmarks/README.md, issue 23): go from the
    // short spin straight to the wait. A sender wakes a waiting worker; one that waits
    // still looks for work to steal every 10 ms.
    set("work-stealing.moderate-poll-attempts", std::size_t{0});
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

/// The egress proxy of `url`, or null without one; said once in the log, credentials left
/// out.
outcome<std::shared_ptr<const net::egress_proxy>>
parse_proxy(const std::optional<std::string>& url) {
  if (!url)
    return std::shared_ptr<const net::egress_proxy>{};
  auto proxy = net::parse_egress_proxy(*url);
  if (!proxy)
    return domain_error{error_kind::invalid_input,
                        "invalid_egress_proxy",
                        "egress_proxy " + proxy.error().message(),
                        {}};
  log::info("deliveries go through an egress proxy", {{"proxy", proxy->redacted()}});
  return std::make_shared<const net::egress_proxy>(std::move(*proxy));
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

/// Logs what filled or failed, once and then at most every 10 s while it lasts: a full
/// disk fails every commit.
void log_commit_failures(persistence::store& store, std::string dir) {
  store.set_failure_observer(
      [dir = std::move(dir), last = std::chrono::steady_clock::time_point{},
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
}

} // namespace

engine::impl::~impl() {
  closing = true;
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

void engine::impl::start_io_threads() {
  work.emplace(io.get_executor());
  for (std::size_t i = 0; i < std::max<std::size_t>(1, opts.io_threads); ++i)
    io_threads.emplace_back([io = &io] {
      pthread_setname_np(pthread_self(), "rundun-http");
      io->run();
    });
}

void engine::impl::start_actors(std::shared_ptr<boost::asio::ssl::context> tls,
                                std::shared_ptr<net::resolver> resolver,
                                std::shared_ptr<const net::egress_proxy> proxy) {
  cfg = std::make_unique<engine_config>(std::max<std::size_t>(1, opts.actor_threads));
  system = std::make_unique<caf::actor_system>(*cfg);
  system->await_actors_before_shutdown(false);
  auto made = make_context(std::move(tls), std::move(resolver), std::move(proxy));
  std::shared_ptr<const engine_context> shared = made;
  // Before any actor that writes: the store reads these settings on its writer thread.
  start_notices(shared);
  made->run_directory = system->spawn(run_directory, shared);
  made->delivery_directory = system->spawn(delivery_directory, shared);
  made->expiry_scheduler = system->spawn(expiry_scheduler, shared);
  // Always there: with runs kept forever it still expires the idempotency keys.
  retention =
      system->spawn(rundun::retention, shared,
                    retention_settings{opts.retention, retention_check_interval(opts.retention)});
  ctx = std::move(made);
}

void engine::impl::start_notices(const std::shared_ptr<const engine_context>& shared) {
  auto hook = opts.operator_webhook ? net::parse_url(*opts.operator_webhook)
                                    : net::result<net::url>{net::errc::url_malformed};
  // Made always, for /metrics and the log; kept in the store for a notifier only.
  if (hook) {
    auto key = net::parse_secret(opts.operator_webhook_secret.value_or(""));
    notifier = system->spawn(operator_notifier, shared, operator_webhook{*hook, key.value_or("")});
  }
  store->set_notices({true, hook.has_value(), hook ? net::endpoint_key(*hook) : std::string()});
  store->set_notice_observer([this, handle = notifier](std::vector<operator_notice> made) {
    for (auto& n : made) {
      counters.notices_made[static_cast<int>(n.type) - 1].fetch_add(1, std::memory_order_relaxed);
      // The host only, as every delivery log line: a webhook URL's path may hold a token.
      auto url = net::parse_url(n.url);
      log::warn("operator notice", {{"notice", std::string(to_string(n.type))},
                                    {"endpoint", url ? url->host : std::string("?")},
                                    {"event_id", n.id}});
      if (opts.on_notice)
        opts.on_notice(n);
    }
    if (handle)
      caf::anon_send(handle, wake_atom::value);
  });
}

std::shared_ptr<engine_context>
engine::impl::make_context(std::shared_ptr<boost::asio::ssl::context> tls,
                           std::shared_ptr<net::resolver> resolver,
                           std::shared_ptr<const net::egress_proxy> proxy) {
  auto made = std::make_shared<engine_context>();
  made->store = store.get();
  made->io = &io;
  made->reads = &reads;
  made->schedule = opts.retry;
  made->delivery_timeout = opts.delivery_timeout;
  made->endpoint_concurrency = std::max<std::size_t>(1, opts.endpoint_concurrency);
  made->window = std::max<std::size_t>(made->endpoint_concurrency, opts.endpoint_window);
  made->counters = &counters;
  made->in_flight = &in_flight;
  signers.emplace(opts.signer_cache_capacity);
  made->signers = &*signers;
  made->tls = std::move(tls);
  made->run_idle_timeout = opts.run_idle_timeout;
  made->allow_private_destinations = opts.allow_private_destinations;
  made->resolver = std::move(resolver);
  made->egress_proxy = std::move(proxy);
  made->endpoint_idle_timeout = opts.endpoint_idle_timeout;
  made->connection_idle_timeout = opts.connection_idle_timeout;
  made->endpoint_disable_after = opts.endpoint_disable_after;
  made->faults = opts.faults;
  made->ids =
      id_minter{opts.node_id ? std::optional{make_owner_mark(*opts.node_id)} : std::nullopt};
  return made;
}

void engine::impl::recover() {
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

engine::engine(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

engine::~engine() {
  shutdown();
  // Queries still queued are answered now, while the engine they read through is whole.
  impl_->reads.join();
}

/// A refusal of the operator webhook's options, or none.
static std::optional<domain_error> check_operator_webhook(const engine_options& opts) {
  if (!opts.operator_webhook)
    return std::nullopt;
  auto url = net::parse_url(*opts.operator_webhook);
  if (!url)
    return domain_error{error_kind::invalid_input,
                        "invalid_operator_webhook",
                        "operator_webhook " + url.error().message(),
                        {}};
  if (!opts.operator_webhook_secret || !net::parse_secret(*opts.operator_webhook_secret))
    return domain_error{error_kind::invalid_input,
                        "invalid_operator_webhook_secret",
                        "operator_webhook_secret must be whsec_ and the standard base64 of 24 to "
                        "64 bytes",
                        {}};
  return std::nullopt;
}

outcome<std::unique_ptr<engine>> engine::open(engine_options opts) {
  // Checked before the data dir is touched: a bad option changes nothing.
  auto proxy = parse_proxy(opts.egress_proxy);
  if (!proxy)
    return proxy.error();
  if (auto bad = check_operator_webhook(opts))
    return *bad;
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
  log_commit_failures(*p->store, opts.data_dir.string());
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
  p->start_io_threads();
  p->start_actors(std::move(*tls), std::move(*resolver), std::move(*proxy));
  p->recover();
  return std::unique_ptr<engine>{new engine(std::move(p))};
}

void engine::shutdown() {
  auto& p = *impl_;
  if (p.stopped)
    return;
  p.stopped = true;
  p.closing = true;
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
  if (p.notifier)
    caf::anon_send_exit(p.notifier, caf::exit_reason::user_shutdown);
  // Every actor must have terminated before the actor system goes: a pending timer (a run's
  // expiry) that held the last reference to a live actor would otherwise destroy it on CAF
  // 0.17's clock thread, which deadlocks. Each directory stops its children on this exit.
  p.system->await_all_actors_done();
}

const engine_options& engine::options() const {
  return impl_->opts;
}

} // namespace rundun
