// soak_bench: many runs through a real rundund over HTTP, the way weeks of uptime see them.
// Each run has its own generated secret and its own step events, and its webhook is one of
// a pool of URLs (distinct endpoints), some of them dead. At every mark it prints the
// server's heap (RssAnon), open sockets and live actors twice: under load, and settled (the
// clients pause until every delivery so far has ended, the idle timeouts have passed and the
// heap has stopped shrinking). At the end it compares actors and sockets with the
// baseline taken before the first run.
//
//   soak_bench --rundund PATH [--runs 1000000] [--urls 10000] [--dead-percent 5]
//              [--every 100000] [--threads 4] [--check]
//
// --check exits 1 unless live actors and open sockets are back at their baseline and every
// event to a live URL arrived.

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
};

options parse(int argc, char** argv) {
  options o;
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

} // namespace

int main(int argc, char** argv) try {
  auto opt = parse(argc, argv);
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  bench::bench_receiver live{io, bench::receiver_mode::fast, net::make_secret()};
  std::thread rx_thread{[&] { io.run(); }};
  auto dead = bench::free_port(); // nothing listens there
  std::size_t dead_urls = opt.urls * opt.dead_percent / 100;
  std::vector<std::string> urls;
  for (std::size_t i = 0; i < opt.urls; ++i)
    urls.push_back("http://127.0.0.1:" + std::to_string(i < dead_urls ? dead : live.port()) +
                   "/hook/" + std::to_string(i));

  auto dir = std::filesystem::temp_directory_path() / ("rundun-soak-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  bench::child_server server;
  bench::start_rundund(server, opt.rundund, dir.string(), key,
                       {"--retry-schedule", "200ms,200ms", "--endpoint-idle-timeout", "2s",
                        "--connection-idle-timeout", "1s", "--retention-days", "0", "--log-level",
                        "error"});
  std::string tid;
  {
    bench::http_client c{server.port};
    auto [status, body] = c.call(
        http::verb::post, "/v1/templates",
        R"({"name":"soak","steps":[{"id":"s","title":"Step"},{"id":"t","title":"Other","required":false}]})",
        key);
    tid = std::string(json::parse(body).at("id").as_string());
  }
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
        auto [status, body] = c->call(http::verb::post, "/v1/runs",
                                      R"({"template_id":")" + tid + R"(","webhook":{"url":")" +
                                          urls[i % urls.size()] + R"("}})",
                                      key);
        if (status != 201) {
          ++failed;
          continue;
        }
        auto link = std::string(json::parse(body).at("link").as_string());
        auto path = link.substr(link.find("/r/"));
        bool ok = c->call(http::verb::post, path + "/steps/s/answer", "{}").first == 200 &&
                  c->call(http::verb::post, path + "/submit", "").first == 200;
        if (!ok)
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
  std::printf("events to live URLs: %llu of %llu delivered (%llu duplicates)\n",
              static_cast<unsigned long long>(live.unique_events()),
              static_cast<unsigned long long>(expected),
              static_cast<unsigned long long>(live.figures().duplicates));
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
