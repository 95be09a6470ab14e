// soak_bench: many runs through a real rundund over HTTP, the way weeks of uptime see them.
// Each run has its own generated secret and its own step events, and its webhook is one of
// a pool of URLs (distinct endpoints), some of them dead. At every mark it prints the
// server's heap (RssAnon), open sockets and live actors twice: under load, and settled (the
// clients pause until every delivery so far has ended, the idle timeouts have passed and the
// heap has stopped shrinking). At the end it compares actors and sockets with the
// baseline taken before the first run.
//
// --busy measures under load only, with endpoints that never go idle: the clients never
// pause, every URL gets a run every `urls` runs, and the server's endpoint idle timeout is
// an hour, so no endpoint actor leaves and nothing it holds is freed by leaving. At every
// mark it prints the heap, sockets, actors and the engine's cached signers, then a verdict:
// flat after the warm-up (the first mark), or the heap's growth per run.
//
//   soak_bench --rundund PATH [--runs 1000000] [--urls 10000] [--dead-percent 5]
//              [--every 100000] [--threads 4] [--check]
//   soak_bench --rundund PATH --busy [--runs 35000] [--urls 2000] [--dead-percent 0]
//              [--every 5000] [--threads 16] [--check]
//
// --check exits 1 unless live actors and open sockets are back at their baseline and every
// event to a live URL arrived; with --busy, unless every event to a live URL arrived, no
// endpoint actor left while busy, and the cached signers stayed within their bound.

#include "bench_process.hpp"
#include "bench_receiver.hpp"
#include "net/signature.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

using namespace rundun;
using namespace std::chrono_literals;
namespace json = boost::json;
namespace http = boost::beast::http;

namespace {

constexpr auto key = "soak-api-key-0123456789";

struct options {
  std::string rundund;
  std::size_t runs = 1'000'000;
  std::size_t urls = 10'000;
  std::size_t dead_percent = 5;
  std::size_t every = 100'000;
  std::size_t threads = 4;
  bool check = false;
  bool busy = false;
};

/// The busy soak's defaults: the reported case (34,000 runs over 2,000 endpoints that never
/// go idle), up to the next mark of one every 5,000 runs.
constexpr std::size_t busy_runs = 35'000;
constexpr std::size_t busy_urls = 2'000;
constexpr std::size_t busy_every = 5'000;
constexpr std::size_t busy_threads = 16;
/// Heap growth from the warm-up mark to the last one that still counts as flat: the
/// allocator's under-load noise, not a leak.
constexpr double flat_growth_percent = 10.0;
constexpr double bytes_per_mib = 1024.0 * 1024.0;

options parse(int argc, char** argv) {
  options o;
  bool busy = false;
  for (int i = 1; i < argc; ++i)
    busy = busy || std::string(argv[i]) == "--busy";
  if (busy) {
    o.busy = true;
    o.runs = busy_runs;
    o.urls = busy_urls;
    o.dead_percent = 0;
    o.every = busy_every;
    o.threads = busy_threads;
  }
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--rundund")
      o.rundund = next();
    else if (a == "--runs")
      o.runs = std::stoul(next());
    else if (a == "--urls")
      o.urls = std::stoul(next());
    else if (a == "--dead-percent")
      o.dead_percent = std::stoul(next());
    else if (a == "--every")
      o.every = std::stoul(next());
    else if (a == "--threads")
      o.threads = std::stoul(next());
    else if (a == "--check")
      o.check = true;
    else if (a == "--busy")
      continue; // read above: it sets the defaults the other flags override
    else
      throw std::runtime_error("unknown argument " + a);
  }
  if (o.rundund.empty())
    throw std::runtime_error("--rundund PATH is required");
  return o;
}

/// The server's figures at one moment.
struct sample {
  std::size_t runs = 0;
  double heap_mib = 0;         ///< RssAnon under load
  double settled_heap_mib = 0; ///< RssAnon once deliveries and idle timeouts are done
  std::size_t sockets = 0;
  double live_actors = 0, endpoint_actors = 0, run_actors = 0, pending = 0, in_flight = 0;
  /// The engine's cached signers and their bound (-1: a server without those metrics).
  double signers_cached = -1, signers_capacity = -1;
};

double rss_anon_mib(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("RssAnon:"))
      return std::stod(line.substr(8)) / 1024;
  return -1;
}

std::size_t open_sockets(pid_t pid) {
  std::size_t n = 0;
  for (auto& fd : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(fd.path(), ec);
    if (!ec && target.string().starts_with("socket:"))
      ++n;
  }
  return n;
}

/// A metric's value from the text exposition (unlabelled samples only).
double metric(const std::string& text, const std::string& name) {
  auto at = text.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::stod(text.substr(at + name.size() + 2));
}

sample take(const bench::child_server& server, std::size_t runs) {
  sample s;
  s.runs = runs;
  s.heap_mib = rss_anon_mib(server.pid);
  s.sockets = open_sockets(server.pid); // before the scrape's own connection
  std::string text;
  {
    bench::http_client c{server.port};
    text = c.call(http::verb::get, "/metrics", "").second;
  }
  s.live_actors = metric(text, "rundun_live_actors");
  s.endpoint_actors = metric(text, "rundun_endpoint_actors");
  s.run_actors = metric(text, "rundun_run_actors");
  s.pending = metric(text, "rundun_deliveries_pending");
  s.in_flight = metric(text, "rundun_deliveries_in_flight");
  s.signers_cached = metric(text, "rundun_signers_cached");
  s.signers_capacity = metric(text, "rundun_signers_capacity");
  return s;
}

void print(const sample& s) {
  std::printf("%10zu %12.1f %12.1f %9zu %12.0f %16.0f %11.0f %10.0f\n", s.runs, s.heap_mib,
              s.settled_heap_mib, s.sockets, s.live_actors, s.endpoint_actors, s.run_actors,
              s.pending);
  std::fflush(stdout);
}

template <class F>
bool wait_for(F&& done, std::chrono::seconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until)
      return false;
    std::this_thread::sleep_for(200ms);
  }
  return true;
}

/// The webhook URLs: `opt.urls` distinct paths (each its own endpoint), the first
/// `dead_percent` of them on `dead_port`, where nothing listens.
std::vector<std::string> make_urls(const options& opt, std::uint16_t live_port,
                                   std::uint16_t dead_port) {
  std::size_t dead_urls = opt.urls * opt.dead_percent / 100;
  std::vector<std::string> urls;
  for (std::size_t i = 0; i < opt.urls; ++i)
    urls.push_back("http://127.0.0.1:" + std::to_string(i < dead_urls ? dead_port : live_port) +
                   "/hook/" + std::to_string(i));
  return urls;
}

/// The soak's template: one step to answer, one optional.
std::string make_template(const bench::child_server& server) {
  bench::http_client c{server.port};
  auto [status, body] = c.call(
      http::verb::post, "/v1/templates",
      R"({"name":"soak","steps":[{"id":"s","title":"Step"},{"id":"t","title":"Other","required":false}]})",
      key);
  return std::string(json::parse(body).at("id").as_string());
}

/// One run: created without a secret (the server generates one), its step answered, then
/// submitted, which makes a step.completed and a run.completed. False if a command failed.
bool drive_run(bench::http_client& c, const std::string& tid, const std::string& url) {
  auto [status, body] =
      c.call(http::verb::post, "/v1/runs",
             R"({"template_id":")" + tid + R"(","webhook":{"url":")" + url + R"("}})", key);
  if (status != 201)
    return false;
  auto link = std::string(json::parse(body).at("link").as_string());
  auto path = link.substr(link.find("/r/"));
  return c.call(http::verb::post, path + "/steps/s/answer", "{}").first == 200 &&
         c.call(http::verb::post, path + "/submit", "").first == 200;
}

/// How many of the `expected` events reached the live receiver, and how many came twice.
void print_deliveries(const bench::bench_receiver& live, std::uint64_t expected) {
  std::printf("events to live URLs: %llu of %llu delivered (%llu duplicates)\n",
              static_cast<unsigned long long>(live.unique_events()),
              static_cast<unsigned long long>(expected),
              static_cast<unsigned long long>(live.figures().duplicates));
}

void print_busy(const sample& s) {
  std::printf("%10zu %12.1f %9zu %16.0f %11.0f %10.0f %15.0f %16.0f\n", s.runs, s.heap_mib,
              s.sockets, s.endpoint_actors, s.run_actors, s.pending, s.signers_cached,
              s.signers_capacity);
  std::fflush(stdout);
}

/// The heap's least-squares slope over the samples (from the warm-up mark on), in bytes
/// per run.
double bytes_per_run(const std::vector<sample>& xs) {
  double n = static_cast<double>(xs.size()), sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (auto& s : xs) {
    auto x = static_cast<double>(s.runs), y = s.heap_mib * bytes_per_mib;
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  double d = n * sxx - sx * sx;
  return d == 0 ? 0 : (n * sxy - sx * sy) / d;
}

/// The busy soak (see the top of the file): endpoints that never go idle, sampled under load.
int busy_soak(const options& opt) {
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  bench::bench_receiver live{io, bench::receiver_mode::fast, net::make_secret()};
  std::thread rx_thread{[&] { io.run(); }};
  auto urls = make_urls(opt, live.port(), bench::free_port());
  std::size_t dead_urls = opt.urls * opt.dead_percent / 100;

  auto dir =
      std::filesystem::temp_directory_path() / ("rundun-busy-soak-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  bench::child_server server;
  // An hour's idle timeout: no endpoint actor leaves during the soak, as if each endpoint
  // had traffic all the time. Connections keep the server's default idle timeout (30 s),
  // which is longer than the gap between two runs to one URL here.
  bench::start_rundund(server, opt.rundund, dir.string(), key,
                       {"--retry-schedule", "200ms,200ms", "--endpoint-idle-timeout", "1h",
                        "--retention-days", "0", "--log-level", "error"});
  auto tid = make_template(server);
  std::printf("busy soak: %zu runs over HTTP to %zu webhook URLs (%zu dead) that never go idle "
              "(endpoint idle timeout 1h), %zu client threads, sampled under load every %zu "
              "runs; each run: a generated secret, step.completed, run.completed\n",
              opt.runs, opt.urls, dead_urls, opt.threads, opt.every);
  std::printf("machine: %u cores\n", std::thread::hardware_concurrency());
  std::printf("%10s %12s %9s %16s %11s %10s %15s %16s\n", "runs", "heap MiB", "sockets",
              "endpoint actors", "run actors", "pending", "signers cached", "signer capacity");
  print_busy(take(server, 0));

  std::atomic<std::size_t> next{0}, done{0}, failed{0};
  std::vector<std::thread> drivers;
  auto started = std::chrono::steady_clock::now();
  for (std::size_t t = 0; t < opt.threads; ++t)
    drivers.emplace_back([&] {
      bench::http_client c{server.port};
      for (std::size_t i; (i = next.fetch_add(1)) < opt.runs; ++done)
        if (!drive_run(c, tid, urls[i % urls.size()]))
          ++failed;
    });
  std::vector<sample> samples;
  for (std::size_t mark = opt.every; mark <= opt.runs; mark += opt.every) {
    while (done.load() < mark)
      std::this_thread::sleep_for(20ms);
    samples.push_back(take(server, mark));
    print_busy(samples.back());
  }
  for (auto& d : drivers)
    d.join();
  auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  std::uint64_t expected = 0;
  for (std::size_t i = 0; i < opt.runs; ++i)
    expected += (i % urls.size()) >= dead_urls ? 2 : 0;
  bool delivered = wait_for([&] { return live.unique_events() >= expected; }, 600s);
  auto end = take(server, opt.runs);
  std::printf("drove %zu runs in %.1f s (%.0f runs/s), %zu commands failed\n", done.load(), took,
              static_cast<double>(done.load()) / took, failed.load());
  std::printf("after the last delivery, with every endpoint still busy (none has left):\n");
  print_busy(end);
  print_deliveries(live, expected);

  // The first mark is the warm-up: every endpoint has its actor and connections by then.
  bool busy_throughout = true, signers_bounded = true;
  for (auto& s : samples) {
    if (s.runs >= opt.urls && s.endpoint_actors < static_cast<double>(opt.urls))
      busy_throughout = false;
    if (s.signers_cached < 0 || s.signers_cached > s.signers_capacity)
      signers_bounded = false;
  }
  if (samples.size() >= 2) {
    auto& warm = samples.front();
    auto& last = samples.back();
    double growth = 100.0 * (last.heap_mib - warm.heap_mib) / warm.heap_mib;
    std::printf("heap from %zu to %zu runs (after the warm-up): %.1f -> %.1f MiB (%+.1f%%); "
                "slope %.0f bytes per run\n",
                warm.runs, last.runs, warm.heap_mib, last.heap_mib, growth, bytes_per_run(samples));
    if (growth <= flat_growth_percent)
      std::printf("verdict: flat after the warm-up (growth within %.0f%%)\n", flat_growth_percent);
    else
      std::printf("verdict: the heap grows with runs while the endpoints stay busy, about %.0f "
                  "bytes per run\n",
                  (last.heap_mib - warm.heap_mib) * bytes_per_mib /
                      static_cast<double>(last.runs - warm.runs));
  }
  server.stop();
  std::filesystem::remove_all(dir);
  work.reset();
  io.stop();
  rx_thread.join();
  if (opt.check && (!delivered || !busy_throughout || !signers_bounded || failed.load() != 0)) {
    std::printf("busy soak check FAILED: delivered=%d busy_throughout=%d signers_bounded=%d "
                "failed=%zu\n",
                delivered, busy_throughout, signers_bounded, failed.load());
    return 1;
  }
  if (opt.check)
    std::printf("busy soak check: ok\n");
  return 0;
}

} // namespace

int main(int argc, char** argv) try {
  auto opt = parse(argc, argv);
  if (opt.busy)
    return busy_soak(opt);
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  bench::bench_receiver live{io, bench::receiver_mode::fast, net::make_secret()};
  std::thread rx_thread{[&] { io.run(); }};
  std::size_t dead_urls = opt.urls * opt.dead_percent / 100;
  auto urls = make_urls(opt, live.port(), bench::free_port());

  auto dir = std::filesystem::temp_directory_path() / ("rundun-soak-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  bench::child_server server;
  bench::start_rundund(server, opt.rundund, dir.string(), key,
                       {"--retry-schedule", "200ms,200ms", "--endpoint-idle-timeout", "2s",
                        "--connection-idle-timeout", "1s", "--retention-days", "0", "--log-level",
                        "error"});
  auto tid = make_template(server);
  std::printf("soak: %zu runs over HTTP, %zu webhook URLs (%zu dead), %zu client threads; "
              "each run: a generated secret, step.completed, run.completed\n",
              opt.runs, opt.urls, dead_urls, opt.threads);
  std::printf("machine: %u cores\n", std::thread::hardware_concurrency());
  std::printf("%10s %12s %12s %9s %12s %16s %11s %10s\n", "runs", "heap MiB", "settled MiB",
              "sockets", "live actors", "endpoint actors", "run actors", "pending");
  auto baseline = take(server, 0);
  baseline.settled_heap_mib = baseline.heap_mib;
  print(baseline);

  // Runs up to `gate` may start; the clients wait at each mark while the server settles.
  std::atomic<std::size_t> next{0}, done{0}, failed{0}, gate{opt.every};
  std::vector<std::thread> drivers;
  for (std::size_t t = 0; t < opt.threads; ++t)
    drivers.emplace_back([&] {
      auto c = std::make_unique<bench::http_client>(server.port);
      for (std::size_t i; (i = next.fetch_add(1)) < opt.runs; ++done) {
        if (i >= gate.load()) {
          while (i >= gate.load())
            std::this_thread::sleep_for(20ms);
          // The server may have closed the connection while it sat idle at the gate.
          c = std::make_unique<bench::http_client>(server.port);
        }
        if (!drive_run(*c, tid, urls[i % urls.size()]))
          ++failed;
      }
    });
  // Each run's two events to a live URL, for the first n runs.
  auto expected_events = [&](std::size_t n) {
    std::uint64_t live_runs = 0;
    for (std::size_t i = 0; i < n; ++i)
      live_runs += (i % urls.size()) >= dead_urls;
    return 2 * live_runs;
  };
  // Everything so far settles: live URLs get their events, dead ones fail after their
  // retries, idle endpoints, connections and run actors go, and the allocator returns what
  // they freed.
  bool delivered = true, settled = true;
  auto settle = [&](std::size_t runs) {
    auto want = expected_events(runs);
    delivered = delivered && wait_for([&] { return live.unique_events() >= want; }, 600s);
    settled = settled && wait_for(
                             [&] {
                               auto s = take(server, runs);
                               return s.pending == 0 && s.in_flight == 0 &&
                                      s.live_actors <= baseline.live_actors &&
                                      s.sockets <= baseline.sockets;
                             },
                             120s);
    // The allocator hands freed pages back over its decay time (jemalloc: 10 s, smoothly):
    // wait that long, and then until the heap has stopped shrinking for 5 s.
    std::this_thread::sleep_for(12s);
    double low = rss_anon_mib(server.pid);
    for (int still = 0, waited = 0; still < 5 && waited < 60; ++waited) {
      std::this_thread::sleep_for(1s);
      double now = rss_anon_mib(server.pid);
      still = now < low - 0.05 ? 0 : still + 1;
      low = std::min(low, now);
    }
    return take(server, runs);
  };

  std::vector<sample> samples;
  auto started = std::chrono::steady_clock::now();
  std::chrono::duration<double> settling{0};
  for (std::size_t mark = opt.every; mark <= opt.runs; mark += opt.every) {
    while (done.load() < mark)
      std::this_thread::sleep_for(50ms);
    samples.push_back(take(server, mark));
    if (mark + opt.every > opt.runs)
      break; // the last mark settles after the clients are done, below
    auto pause = std::chrono::steady_clock::now();
    samples.back().settled_heap_mib = settle(mark).heap_mib;
    settling += std::chrono::steady_clock::now() - pause;
    gate += opt.every;
    print(samples.back());
  }
  gate = opt.runs;
  for (auto& d : drivers)
    d.join();
  auto took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started - settling).count();

  auto end = settle(opt.runs);
  end.settled_heap_mib = end.heap_mib;
  if (!samples.empty()) {
    samples.back().settled_heap_mib = end.heap_mib;
    print(samples.back());
  }
  std::printf("created and drove %zu runs in %.1f s of load (%.0f runs/s), %zu commands failed\n",
              done.load(), took, static_cast<double>(done.load()) / took, failed.load());
  auto expected = expected_events(opt.runs);
  std::printf("after settling and idle timeouts:\n");
  print(end);
  print_deliveries(live, expected);
  std::printf("back at baseline: live actors %.0f (baseline %.0f), sockets %zu (baseline %zu)\n",
              end.live_actors, baseline.live_actors, end.sockets, baseline.sockets);
  if (samples.size() >= 2) {
    auto& from = samples[std::min<std::size_t>(1, samples.size() - 1)];
    auto& to = samples.back();
    std::printf("heap growth from %zu to %zu runs: under load %.1f MiB -> %.1f MiB (%+.1f%%), "
                "settled %.1f MiB -> %.1f MiB (%+.1f%%)\n",
                from.runs, to.runs, from.heap_mib, to.heap_mib,
                100.0 * (to.heap_mib - from.heap_mib) / from.heap_mib, from.settled_heap_mib,
                to.settled_heap_mib,
                100.0 * (to.settled_heap_mib - from.settled_heap_mib) / from.settled_heap_mib);
  }
  server.stop();
  std::filesystem::remove_all(dir);
  work.reset();
  io.stop();
  rx_thread.join();
  if (opt.check && (!delivered || !settled || failed.load() != 0)) {
    std::printf("soak check FAILED: delivered=%d settled=%d failed=%zu\n", delivered, settled,
                failed.load());
    return 1;
  }
  if (opt.check)
    std::printf("soak check: ok\n");
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "soak_bench: %s\n", e.what());
  return 2;
}
