// idempotency_bench: what an `Idempotency-Key` costs a creation (contract §4), through a real
// rundund over HTTP. Three rounds of POST /v1/runs on one keep-alive connection, interleaved
// so that the machine's drift falls on all of them alike:
//   plain   without a key
//   keyed   each with a fresh key (a claim, a store lookup that finds nothing, the key and
//           its record written in the run's commit)
//   replay  each with a key already used (a claim, a lookup that finds it, the decode of the
//           stored run and its answer again)
// It prints rundund's CPU per creation (user + system, from /proc) and the wall time, each
// the median of its rounds.
//
//   idempotency_bench --rundund PATH [--creates 2000] [--rounds 5]

#include "bench_process.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <unistd.h>

namespace http = boost::beast::http;
using namespace rundun;

namespace {

constexpr auto api_key = "idempotency-bench-api-key-0123";

struct options {
  std::string rundund;
  std::size_t creates = 2000;
  std::size_t rounds = 5;
};

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc)
        throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--rundund")
      o.rundund = next();
    else if (a == "--creates")
      o.creates = std::stoul(next());
    else if (a == "--rounds")
      o.rounds = std::stoul(next());
    else
      throw std::runtime_error("unknown option " + a);
  }
  if (o.rundund.empty())
    throw std::runtime_error("--rundund PATH is required");
  return o;
}

struct figure {
  double cpu_us = 0, wall_us = 0;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

} // namespace

int main(int argc, char** argv) try {
  auto opt = parse(argc, argv);
  auto dir = std::filesystem::temp_directory_path() /
             ("rundun-idempotency-bench-" + std::to_string(::getpid()));
  std::printf("idempotency_bench: %zu creations per round, %zu rounds each; machine: %u cores\n",
              opt.creates, opt.rounds, std::thread::hardware_concurrency());
  bench::child_server server;
  bench::start_rundund(server, opt.rundund, dir.string(), api_key, {"--log-level", "warn"});
  bench::http_client client{server.port};
  auto tmpl = client.call(http::verb::post, "/v1/templates",
                          R"({"name":"Bench","steps":[{"id":"a","title":"A"}]})", api_key);
  if (tmpl.first != 201)
    throw std::runtime_error("the template was refused: " + tmpl.second);
  auto tid = std::string(boost::json::parse(tmpl.second).at("id").as_string());
  // No webhook: creation alone, with no delivery to share the CPU with.
  auto body = R"({"template_id":")" + tid + R"(","metadata":{"booking":"B-1234"}})";

  std::size_t next_key = 0;
  auto round = [&](const char* kind, std::size_t first_key) {
    auto cpu0 = bench::process_cpu_s(server.pid);
    auto t0 = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < opt.creates; ++i) {
      std::vector<std::pair<std::string, std::string>> headers;
      if (std::string(kind) != "plain")
        headers.emplace_back("Idempotency-Key", "order-" + std::to_string(first_key + i));
      auto [status, text] = client.call(http::verb::post, "/v1/runs", body, api_key, headers);
      if (status != 201)
        throw std::runtime_error(std::string(kind) + ": " + std::to_string(status) + " " + text);
    }
    auto wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    auto cpu = bench::process_cpu_s(server.pid) - cpu0;
    auto n = static_cast<double>(opt.creates);
    return figure{cpu / n * 1e6, wall / n * 1e6};
  };
  std::vector<double> cpu[3], wall[3];
  const char* kinds[3] = {"plain", "keyed", "replay"};
  for (std::size_t r = 0; r < opt.rounds; ++r) {
    auto first = next_key;
    next_key += opt.creates;
    figure f[3] = {round("plain", 0), round("keyed", first), round("replay", first)};
    for (int k = 0; k < 3; ++k) {
      cpu[k].push_back(f[k].cpu_us);
      wall[k].push_back(f[k].wall_us);
    }
  }
  std::printf("%-8s %14s %14s\n", "round", "cpu us/create", "wall us/create");
  for (int k = 0; k < 3; ++k)
    std::printf("%-8s %14.1f %14.1f\n", kinds[k], median(cpu[k]), median(wall[k]));
  std::printf("a key costs %.1f us of CPU per creation; a replay %.1f us against a creation\n",
              median(cpu[1]) - median(cpu[0]), median(cpu[2]) - median(cpu[0]));
  server.stop();
  std::filesystem::remove_all(dir);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "idempotency_bench: %s\n", e.what());
  return 1;
}
