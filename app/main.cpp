// rundund: flags, wiring, and the signal-driven lifecycle. The work is in the engine
// (actors/engine.hpp) and the HTTP API (api/router.hpp).

#include "actors/cluster.hpp"
#include "actors/engine.hpp"
#include "api/api_key.hpp"
#include "api/cluster_front.hpp"
#include "api/router.hpp"
#include "app/flags.hpp"
#include "net/http_server.hpp"
#include "net/log.hpp"
#include "net/signature.hpp"
#include "persistence/clock.hpp"

#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <pthread.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <variant>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

namespace {

using namespace rundun;

constexpr int exit_bad_flags = 2;
constexpr int exit_failure = 1;
constexpr const char* api_key_file = "api-key.sha256";
constexpr const char* operator_secret_file = "operator-webhook.secret";

/// Writes `text` to `path` whole or not at all: into a file made with mode 0600 (not
/// following a link), synced, renamed over `path`, and its directory synced. For the API
/// key's hash and the operator webhook's secret.
bool write_private_file(const std::filesystem::path& path, const std::string& text) {
  auto tmp = path.string() + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  bool ok = fd >= 0 && ::fchmod(fd, 0600) == 0 &&
            ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  if (fd >= 0)
    ::close(fd);
  if (ok)
    ok = ::rename(tmp.c_str(), path.c_str()) == 0;
  auto dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  if (int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); d >= 0) {
    ok = ok && ::fsync(d) == 0;
    ::close(d);
  }
  return ok;
}

/// The operator webhook's secret: from --operator-webhook-secret, or the one kept in the
/// data dir, or a new one that is kept there (write_private_file) and printed once. A file that
/// holds no valid secret is an error, not replaced: a new secret would fail every operator's
/// verification without a word.
std::variant<std::string, std::string> resolve_operator_secret(const app::flags& f) {
  using secret_or_error = std::variant<std::string, std::string>;
  auto error = [](std::string why) {
    return secret_or_error{std::in_place_index<1>, std::move(why)};
  };
  if (f.operator_webhook_secret)
    return secret_or_error{std::in_place_index<0>, *f.operator_webhook_secret};
  auto dir = std::filesystem::path(f.data_dir);
  auto path = dir / operator_secret_file;
  if (std::filesystem::exists(path)) {
    std::ifstream in{path};
    std::string secret;
    in >> secret;
    if (!net::parse_secret(secret))
      return error(path.string() + " holds no whsec_ secret: restore it from a backup, or give "
                                   "--operator-webhook-secret");
    return secret_or_error{std::in_place_index<0>, secret};
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  auto secret = net::make_secret();
  bool ok = write_private_file(path, secret + "\n");
  if (!ok)
    return error("cannot write the operator webhook secret file in " + dir.string());
  std::cout << "rundund operator webhook secret: " << secret << std::endl;
  return secret_or_error{std::in_place_index<0>, secret};
}

/// The API key's hash: from --api-key, or the one kept in the data dir, or a new key that is
/// generated, printed once, and kept (as a hash) for the next start.
std::optional<std::string> resolve_api_key(const app::flags& f) {
  if (f.api_key)
    return api::hash_api_key(*f.api_key);
  auto path = std::filesystem::path(f.data_dir) / api_key_file;
  if (std::ifstream in{path}; in) {
    std::string hash;
    in >> hash;
    if (hash.size() == 64)
      return hash;
  }
  auto key = api::make_api_key();
  auto hash = api::hash_api_key(key);
  if (!write_private_file(path, hash + "\n"))
    return std::nullopt;
  std::cout << "rundund api key: " << key << std::endl;
  return hash;
}

std::string host_for_url(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

/// Starts this node's side of the cluster: forwarded requests run through `front` on the
/// API's threads (`io`), and queries through the engine, not on the cluster's actor threads.
outcome<std::unique_ptr<cluster::node>> start_cluster(const app::flags& f,
                                                      api::cluster_front& front, engine& eng,
                                                      boost::asio::io_context& io) {
  cluster::options o;
  o.node_id = *f.node_id;
  o.members = f.cluster;
  if (f.cluster_cert)
    o.tls = cluster::tls_files{*f.cluster_cert, *f.cluster_key, *f.cluster_ca};
  return cluster::node::start(
      std::move(o),
      [&front, &io](cluster::forwarded_request req,
                    std::function<void(cluster::forwarded_response)> done) {
        boost::asio::post(io, [&front, req = std::move(req), done = std::move(done)]() mutable {
          front.handle_forwarded(std::move(req), std::move(done));
        });
      },
      // The engine answers queries on its own read thread, not on the cluster's.
      [&eng](read_request req, std::function<void(read_answer)> done) {
        answer_read(eng, std::move(req), std::move(done));
      });
}

} // namespace

/// Starts the product's clock at `RUNDUN_CLOCK_START` (RFC 3339), when the environment has
/// it: for tests that open a data dir written on another day, so that its dates stay valid
/// whatever the calendar says. Not a flag: nothing but a test should move the clock. Returns
/// an error text for a value that is not an instant.
std::optional<std::string> start_test_clock() {
  const char* start = std::getenv("RUNDUN_CLOCK_START");
  if (!start || !*start)
    return std::nullopt;
  auto at = parse_rfc3339(start);
  if (!at)
    return std::string("RUNDUN_CLOCK_START must be an RFC 3339 instant, got ") + start;
  set_clock_offset(*at - now());
  log::warn("the clock is moved for a test", {{"RUNDUN_CLOCK_START", start}});
  return std::nullopt;
}

/// The HTTP server's cap on the request bodies held at once, from
/// `RUNDUN_TEST_BODY_BYTES_CAP` (bytes) when the environment has it, else the default: for
/// tests that reach the cap with small photos. Not a flag: nothing but a test should lower
/// it. Returns an error text for a value that is not a positive number of bytes.
std::variant<std::uint64_t, std::string> held_body_bytes_cap() {
  const char* cap = std::getenv("RUNDUN_TEST_BODY_BYTES_CAP");
  if (!cap || !*cap)
    return net::default_max_held_body_bytes;
  std::uint64_t bytes = 0;
  std::string_view text{cap};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), bytes);
  if (ec != std::errc{} || end != text.data() + text.size() || bytes == 0)
    return std::string("RUNDUN_TEST_BODY_BYTES_CAP must be a positive number of bytes, got ") + cap;
  log::warn("the cap on held request bodies is moved for a test",
            {{"RUNDUN_TEST_BODY_BYTES_CAP", cap}});
  return bytes;
}

/// Adds the faults a test asks for in the environment: `RUNDUN_TEST_DROP_KEYED_ANSWERS=1`
/// stores each creation with an `Idempotency-Key` and never answers it, so that a test can
/// kill the process between the commit and the answer. Not a flag: nothing but a test
/// should do that.
void add_test_faults(engine_options& opts) {
  const char* drop = std::getenv("RUNDUN_TEST_DROP_KEYED_ANSWERS");
  if (!drop || std::string_view(drop) != "1")
    return;
  log::warn("keyed creations are stored and never answered, for a test",
            {{"RUNDUN_TEST_DROP_KEYED_ANSWERS", drop}});
  opts.faults.drop_keyed_answer = [](std::string_view) { return true; };
}

namespace {

/// The flags, and the test settings of the environment.
struct settings {
  app::flags flags;
  /// The HTTP server's cap on the request bodies held at once (see held_body_bytes_cap).
  std::uint64_t held_body_bytes = 0;
};

/// Reads the flags and the environment's test settings, and sets the log level. Or the
/// exit code when rundund stops at once: after `--help`, or on a bad flag or setting
/// (said on stderr).
std::variant<settings, int> read_settings(int argc, char** argv) {
  auto parsed = app::parse_flags(argc, argv);
  if (std::holds_alternative<app::help_requested>(parsed)) {
    std::cout << app::usage();
    return 0;
  }
  if (auto* err = std::get_if<app::flag_error>(&parsed)) {
    std::cerr << "rundund: " << err->message << "\n";
    return exit_bad_flags;
  }
  auto f = std::get<app::flags>(parsed);
  log::set_level(f.log_level);
  if (auto err = start_test_clock()) {
    std::cerr << "rundund: " << *err << "\n";
    return exit_bad_flags;
  }
  auto body_cap = held_body_bytes_cap();
  if (auto* err = std::get_if<std::string>(&body_cap)) {
    std::cerr << "rundund: " << *err << "\n";
    return exit_bad_flags;
  }
  return settings{std::move(f), std::get<std::uint64_t>(body_cap)};
}

/// Blocks SIGTERM and SIGINT, which main() takes with sigwait(), and ignores SIGPIPE.
/// Called before any thread starts, so that no other thread receives them.
sigset_t block_stop_signals() {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  return stop_signals;
}

/// The engine's options from the flags; the rest keep the engine's defaults.
engine_options engine_options_from(const app::flags& f) {
  engine_options opts;
  opts.data_dir = f.data_dir;
  opts.retry = f.retry;
  opts.delivery_timeout = f.delivery_timeout;
  opts.endpoint_concurrency = f.endpoint_concurrency;
  opts.allow_private_destinations = f.allow_private_destinations;
  opts.ca_file = f.ca_file;
  opts.egress_proxy = f.egress_proxy;
  opts.map_size = f.map_size;
  opts.endpoint_idle_timeout = f.endpoint_idle_timeout;
  opts.connection_idle_timeout = f.connection_idle_timeout;
  opts.endpoint_disable_after = f.endpoint_disable_after;
  opts.operator_webhook = f.operator_webhook;
  opts.retention =
      std::chrono::milliseconds{static_cast<std::int64_t>(f.retention_days * 24 * 3600 * 1000)};
  opts.node_id = f.node_id;
  add_test_faults(opts);
  return opts;
}

/// What serves the API: its io_context and threads, the HTTP server, the router, and in a
/// cluster the front and this node. The server's handlers refer to `router` and `front`,
/// so it stays where main() made it. Its members go in the reverse order of their
/// declaration: the threads, the node and the server before what they call.
struct api_service {
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work =
      boost::asio::make_work_guard(io);
  // The router needs the public URL, which needs the bound port: it is made after the bind,
  // before the io threads start serving.
  std::unique_ptr<api::router> router;
  std::unique_ptr<api::cluster_front> front; // only in a cluster
  std::unique_ptr<net::http_server> server;
  std::unique_ptr<cluster::node> node;
  /// The API's threads: routing, JSON and the engine's synchronous reads run on them; each
  /// connection is on its own strand.
  std::vector<std::thread> threads;
};

/// Binds the HTTP server, whose requests go to the cluster front in a cluster, else to the
/// router. An error text when it cannot listen.
std::optional<std::string> listen(api_service& s, const app::flags& f,
                                  std::uint64_t held_body_bytes) {
  net::server_options sopts;
  sopts.host = f.host;
  sopts.port = f.port;
  sopts.body_limit = &api::router::body_limit;
  sopts.error_response = &api::router::error_response;
  sopts.max_held_body_bytes = held_body_bytes;
  // A request's key or link is checked once its headers are in, before its body is read.
  sopts.screen = [&router = s.router, &front = s.front](const net::request_header& h) {
    return front ? front->screen(h) : router->screen(h);
  };
  auto server = net::http_server::start(
      s.io, sopts,
      [&router = s.router, &front = s.front](net::http_request&& req, net::responder respond) {
        if (front)
          return front->handle(std::move(req), std::move(respond));
        router->handle(std::move(req), std::move(respond));
      });
  if (!server)
    return "cannot listen on " + f.host + ":" + std::to_string(f.port) + ": " +
           server.error().message();
  s.server = std::move(*server);
  return std::nullopt;
}

/// Makes the router, which answers at `public_url`, with the server's gauges.
void make_router(api_service& s, engine& eng, const std::string& key_hash, std::string public_url) {
  s.router = std::make_unique<api::router>(eng, api::router_config{key_hash, public_url});
  s.router->set_connection_gauge([server = s.server.get()] { return server->open_connections(); });
  s.router->set_held_body_bytes_gauge(
      [server = s.server.get()] { return server->held_body_bytes(); });
}

/// Makes the cluster front and starts this node. An error text when the node cannot start.
std::optional<std::string> join_cluster(api_service& s, const app::flags& f, engine& eng,
                                        const std::string& key_hash) {
  s.front = std::make_unique<api::cluster_front>(
      *s.router, eng, key_hash,
      [&io = s.io](std::function<void()> work) { boost::asio::post(io, std::move(work)); });
  auto started = start_cluster(f, *s.front, eng, s.io);
  if (!started)
    return started.error().message;
  s.node = std::move(*started);
  s.front->attach(*s.node);
  s.router->set_cluster_figures([&front = s.front] { return front->figures(); });
  return std::nullopt;
}

/// Starts `count` threads that serve the API, once the router (and front) are ready.
void start_api_threads(api_service& s, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i)
    s.threads.emplace_back([&io = s.io] {
      pthread_setname_np(pthread_self(), "rundun-api");
      io.run();
    });
}

/// Stops taking requests, lets the engine finish what is in flight, then stops the API's
/// threads.
void stop_serving(api_service& s, engine& eng) {
  s.server->stop();
  if (s.node)
    s.node->stop();
  eng.shutdown();
  s.work.reset();
  s.io.stop();
  for (auto& t : s.threads)
    t.join();
}

} // namespace

int main(int argc, char** argv) {
  auto read = read_settings(argc, argv);
  if (auto* code = std::get_if<int>(&read))
    return *code;
  auto& [f, held_body_bytes] = std::get<settings>(read);
  auto stop_signals = block_stop_signals();
  auto opts = engine_options_from(f);
  if (f.operator_webhook) {
    auto secret = resolve_operator_secret(f);
    if (secret.index() == 1) {
      std::cerr << "rundund: " << std::get<1>(secret) << "\n";
      return exit_failure;
    }
    opts.operator_webhook_secret = std::get<0>(std::move(secret));
  }
  auto eng = engine::open(std::move(opts));
  if (!eng) {
    std::cerr << "rundund: " << eng.error().message << "\n";
    return exit_failure;
  }
  auto key_hash = resolve_api_key(f);
  if (!key_hash) {
    std::cerr << "rundund: cannot write the API key file in " << f.data_dir << "\n";
    return exit_failure;
  }
  api_service s;
  if (auto err = listen(s, f, held_body_bytes)) {
    std::cerr << "rundund: " << *err << "\n";
    return exit_failure;
  }
  auto bound = s.server->local_endpoint();
  auto base = "http://" + host_for_url(f.host) + ":" + std::to_string(bound.port());
  make_router(s, **eng, *key_hash, f.public_url.value_or(base));
  if (f.node_id)
    if (auto err = join_cluster(s, f, **eng, *key_hash)) {
      std::cerr << "rundund: " << *err << "\n";
      return exit_failure;
    }
  s.router->set_ready(true);
  start_api_threads(s, f.http_threads);
  log::info("listening", {{"address", base},
                          {"data_dir", f.data_dir},
                          {"http_threads", std::to_string(f.http_threads)}});
  // Logs are written by a thread of their own: whoever waits for the line below finds
  // every start-up log line already on stderr.
  log::flush();
  std::cout << "rundund listening on " << base << std::endl;

  int sig = 0;
  sigwait(&stop_signals, &sig);
  log::info("stopping", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  stop_serving(s, **eng);
  eng->reset();
  log::info("stopped");
  log::flush();
  return 0;
}
