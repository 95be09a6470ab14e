// cluster_bench: the HTTP load of the benchmarks against 1, 2 and 3 local rundund nodes, with
// the clients spread over every node. Each run is created on one node (its owner), its step
// answered through the next node and submitted through the one after: with N nodes, the
// link requests land on a node that does not own the run (N-1)/N of the time and are
// forwarded over CAF. Prints, per cluster size: events delivered per second, the share of
// forwarded requests, client latency of local and forwarded requests (p50, p99), and CPU
// per request over all nodes.
//
//   cluster_bench --rundund PATH [--nodes 1,2,3] [--runs 3000] [--clients 16]
//
// Three nodes on one machine share its cores and its disk: this measures the cost of
// forwarding, not how a cluster scales (docs/cluster.md).

#include "bench_process.hpp"
#include "bench_receiver.hpp"
#include "net/signature.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

using namespace rundun;
using namespace std::chrono_literals;
namespace json = boost::json;
namespace http = boost::beast::http;
using steady = std::chrono::steady_clock;

namespace {

constexpr auto key = "cluster-bench-key-0123456789";

struct options {
  std::string rundund;
  std::vector<std::size_t> sizes{1, 2, 3};
  std::size_t runs = 3000;
  std::size_t clients = 16;
};

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--rundund") {
      o.rundund = next();
    } else if (a == "--runs") {
      o.runs = std::stoul(next());
    } else if (a == "--clients") {
      o.clients = std::stoul(next());
    } else if (a == "--nodes") {
      o.sizes.clear();
      auto list = next();
      for (std::size_t at = 0; at < list.size();) {
        auto comma = list.find(',', at);
        o.sizes.push_back(std::stoul(list.substr(at, comma - at)));
        at = comma == std::string::npos ? list.size() : comma + 1;
      }
    } else {
      throw std::runtime_error("unknown argument " + a);
    }
  }
  if (o.rundund.empty())
    throw std::runtime_error("--rundund PATH is required");
  return o;
}

/// Client-side latencies, in microseconds, of requests served by their owner or forwarded.
struct latencies {
  std::mutex mtx;
  std::vector<double> local, forwarded;
  void add(bool was_forwarded, steady::duration d) {
    auto us = std::chrono::duration<double, std::micro>(d).count();
    std::lock_guard lock{mtx};
    (was_forwarded ? forwarded : local).push_back(us);
  }
};

double percentile(std::vector<double> v, double p) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

struct result {
  std::size_t nodes = 0;
  double events_per_s = 0, forwarded_share = 0, cpu_us_per_request = 0;
  double local_p50 = 0, local_p99 = 0, forwarded_p50 = 0, forwarded_p99 = 0;
};

result scenario(const options& opt, std::size_t n) {
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  auto secret = net::make_secret();
  bench::bench_receiver rx{io, bench::receiver_mode::fast, secret};
  std::thread rx_thread{[&] { io.run(); }};

  std::string list;
  for (std::size_t i = 0; i < n; ++i)
    list += (i ? "," : "") + ("n" + std::to_string(i)) +
            "=127.0.0.1:" + std::to_string(bench::free_port());
  auto base = std::filesystem::temp_directory_path() /
              ("rundun-cluster-bench-" + std::to_string(::getpid()) + "-" + std::to_string(n));
  std::filesystem::remove_all(base);
  std::vector<std::unique_ptr<bench::child_server>> nodes;
  for (std::size_t i = 0; i < n; ++i) {
    nodes.push_back(std::make_unique<bench::child_server>());
    std::vector<std::string> flags{"--log-level", "error"};
    if (n > 1)
      flags.insert(flags.end(),
                   {"--node-id", "n" + std::to_string(i), "--cluster", list, "--cluster-insecure"});
    bench::start_rundund(*nodes.back(), opt.rundund, (base / std::to_string(i)).string(), key,
                         flags);
  }
  // Every node reaches every other one before the clock starts.
  for (bool ready = n == 1; !ready; std::this_thread::sleep_for(50ms)) {
    ready = true;
    for (auto& node : nodes) {
      bench::http_client c{node->port};
      auto doc = json::parse(c.call(http::verb::get, "/v1/cluster", "", key).second);
      for (auto& m : doc.at("members").as_array())
        ready = ready && m.at("reachable").as_bool();
    }
  }
  std::string tid;
  {
    bench::http_client c{nodes[0]->port};
    tid = std::string(
        json::parse(c.call(http::verb::post, "/v1/templates",
                           R"({"name":"bench","steps":[{"id":"s","title":"Step"}]})", key)
                        .second)
            .at("id")
            .as_string());
  }

  double cpu_before = 0;
  for (auto& node : nodes)
    cpu_before += bench::process_cpu_s(node->pid);
  latencies lat;
  std::atomic<std::size_t> next{0}, failures{0}, requests{0};
  auto started = steady::now();
  std::vector<std::thread> clients;
  for (std::size_t t = 0; t < opt.clients; ++t)
    clients.emplace_back([&] {
      std::vector<std::unique_ptr<bench::http_client>> to;
      for (auto& node : nodes)
        to.push_back(std::make_unique<bench::http_client>(node->port));
      auto timed = [&](std::size_t node, bool forwarded, http::verb verb, const std::string& target,
                       const std::string& body, const std::string& k) {
        auto at = steady::now();
        auto answer = to[node]->call(verb, target, body, k);
        lat.add(forwarded, steady::now() - at);
        ++requests;
        return answer;
      };
      for (std::size_t i; (i = next.fetch_add(1)) < opt.runs;) {
        auto owner = i % n;
        auto [status, body] = timed(owner, false, http::verb::post, "/v1/runs",
                                    R"({"template_id":")" + tid + R"(","webhook":{"url":")" +
                                        rx.url() + R"(","secret":")" + secret + R"("}})",
                                    key);
        if (status != 201) {
          ++failures;
          continue;
        }
        auto link = std::string(json::parse(body).at("link").as_string());
        auto path = link.substr(link.find("/r/"));
        auto answer_at = (owner + 1) % n, submit_at = (owner + 2) % n;
        if (timed(answer_at, answer_at != owner, http::verb::post, path + "/steps/s/answer", "{}",
                  "")
                    .first != 200 ||
            timed(submit_at, submit_at != owner, http::verb::post, path + "/submit", "", "")
                    .first != 200)
          ++failures;
      }
    });
  for (auto& c : clients)
    c.join();
  auto expected = 2 * (opt.runs - failures.load());
  while (rx.unique_events() < expected && steady::now() - started < 600s)
    std::this_thread::sleep_for(5ms);
  auto took = std::chrono::duration<double>(steady::now() - started).count();
  double cpu_after = 0;
  for (auto& node : nodes)
    cpu_after += bench::process_cpu_s(node->pid);

  result r;
  r.nodes = n;
  r.events_per_s = static_cast<double>(rx.unique_events()) / took;
  r.forwarded_share = static_cast<double>(lat.forwarded.size()) /
                      static_cast<double>(lat.forwarded.size() + lat.local.size());
  r.cpu_us_per_request = (cpu_after - cpu_before) * 1e6 / static_cast<double>(requests.load());
  r.local_p50 = percentile(lat.local, 0.5);
  r.local_p99 = percentile(lat.local, 0.99);
  r.forwarded_p50 = percentile(lat.forwarded, 0.5);
  r.forwarded_p99 = percentile(lat.forwarded, 0.99);
  if (failures.load() != 0)
    std::printf("  (%zu runs failed)\n", failures.load());
  for (auto& node : nodes)
    node->stop();
  std::filesystem::remove_all(base);
  work.reset();
  io.stop();
  rx_thread.join();
  return r;
}

} // namespace

int main(int argc, char** argv) try {
  auto opt = parse(argc, argv);
  std::printf("cluster_bench: %zu runs per size (create on the owner, answer and submit through "
              "the next nodes: 3 requests, 2 events each), %zu keep-alive clients spread over "
              "every node; machine: %u cores\n",
              opt.runs, opt.clients, std::thread::hardware_concurrency());
  std::printf("%5s %10s %10s %13s %13s %13s %13s %12s\n", "nodes", "events/s", "forwarded",
              "local p50 ms", "local p99 ms", "fwd p50 ms", "fwd p99 ms", "CPU us/req");
  for (auto n : opt.sizes) {
    auto r = scenario(opt, n);
    std::printf("%5zu %10.0f %9.0f%% %13.2f %13.2f %13.2f %13.2f %12.0f\n", r.nodes, r.events_per_s,
                100 * r.forwarded_share, r.local_p50 / 1000, r.local_p99 / 1000,
                r.forwarded_p50 / 1000, r.forwarded_p99 / 1000, r.cpu_us_per_request);
    std::fflush(stdout);
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "cluster_bench: %s\n", e.what());
  return 2;
}
