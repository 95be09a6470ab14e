// The delivery load benchmark: drives the engine (embedded, or rundund over HTTP) against
// local receivers and prints what it measured. benchmarks/run.sh runs the scenarios.
//
//   load_bench receive                         serve one fast receiver (for wrk), print its port
//   load_bench throughput [options]            1 KB events to healthy endpoints
//   load_bench isolation [options]             the same, with 10% hanging and 10% flaky endpoints
//   load_bench open-runs [--runs N]            RSS and creation rate of N open runs (embedded)
//   load_bench backlog [--events N]            N deliveries pending to a dead endpoint: RSS, and
//                                              healthy throughput beside them (embedded)
//   load_bench recovery [--events N]           rundund restarting on N overdue retries: time
//                                              to /healthz, then to the first retry sent
//   load_bench proxy-compare [options]         throughput twice in one run: direct, then
//                                              through an egress proxy (the in-bench one
//                                              unless --egress-proxy names another)
//
// options: --driver embedded|http  --events N  --endpoints E  --rate R (events/s, 0: as fast
//          as possible)  --json FILE  --rundund PATH  --tls (HTTPS receivers)  --check
//          --egress-proxy URL|bench (deliver through that HTTP proxy; `bench`: a CONNECT proxy
//          in this process, the tests' tests/support/connect_proxy, on its own thread)

#include "actors/engine.hpp"
#include "bench_cpu.hpp"
#include "bench_http_driver.hpp"
#include "bench_load.hpp"
#include "bench_process.hpp"
#include "bench_receiver.hpp"
#include "bench_tls.hpp"
#include "net/egress_proxy.hpp"
#include "net/log.hpp"
#include "tests/support/connect_proxy.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace rundun;
using namespace std::chrono_literals;
namespace json = boost::json;
namespace asio = boost::asio;
using steady = std::chrono::steady_clock;
using bench::child_server;
using bench::http_client;
using bench::job;
using bench::pacer;

namespace {

constexpr auto secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr int steps_per_run = 10;
/// Metadata padding so that each webhook body is about 1 KB.
constexpr std::size_t metadata_padding = 640;

struct options {
  std::string scenario;
  std::string driver = "embedded";
  std::size_t events = 100'000;
  std::size_t endpoints = 50;
  std::size_t runs = 100'000;
  double rate = 0;
  std::string json_file;
  std::string rundund = "./build/app/rundund";
  /// Exit non-zero unless every healthy event arrived once, correctly signed (smoke mode).
  bool check = false;
  /// Receivers serve HTTPS, with a certificate from a CA made for the run, which the engine
  /// is told to trust.
  bool tls = false;
  /// Deliveries go through this HTTP proxy URL; `bench` starts a CONNECT proxy in this
  /// process; empty: direct.
  std::string egress_proxy;
};

/// The in-bench proxy's pseudo-URL.
constexpr std::string_view in_bench_proxy = "bench";

/// The egress proxy as the results may show it: `none`, `in-bench`, or `http://host:port`
/// (never its credentials).
std::string proxy_label(const std::string& proxy) {
  if (proxy.empty())
    return "none";
  if (proxy == in_bench_proxy)
    return "in-bench";
  auto parsed = net::parse_egress_proxy(proxy);
  return parsed ? parsed->redacted() : "invalid";
}

/// A field of /proc/self/status in MiB (VmRSS, RssAnon, RssFile, VmHWM).
double status_mib(const std::string& field) {
  std::ifstream in{"/proc/self/status"};
  for (std::string line; std::getline(in, line);)
    if (line.rfind(field + ":", 0) == 0)
      return std::stod(line.substr(field.size() + 1)) / 1024.0;
  return 0;
}

/// Bytes this process has written with write(2) and friends so far (`wchar` of
/// /proc/self/io): the store's page writes, plus sockets.
double bytes_written() {
  std::ifstream in{"/proc/self/io"};
  for (std::string line; std::getline(in, line);)
    if (line.rfind("wchar:", 0) == 0)
      return std::stod(line.substr(6));
  return 0;
}

double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0;
}

double seconds_between(steady::time_point a, steady::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

double percentile(std::vector<std::int64_t>& v, double p) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  auto i = std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())));
  return static_cast<double>(v[i]) / 1000.0;
}

/// Receivers on their own io thread, `bench-rx`.
struct receivers {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::vector<std::unique_ptr<bench::bench_receiver>> all;
  std::vector<bench::receiver_mode> modes;
  std::thread thread;

  receivers(std::size_t count, double hang_share, double flaky_share,
            std::shared_ptr<asio::ssl::context> tls = nullptr) {
    for (std::size_t i = 0; i < count; ++i) {
      auto mode = bench::receiver_mode::fast;
      if (i < static_cast<std::size_t>(count * hang_share))
        mode = bench::receiver_mode::hang;
      else if (i < static_cast<std::size_t>(count * (hang_share + flaky_share)))
        mode = bench::receiver_mode::flaky;
      all.push_back(std::make_unique<bench::bench_receiver>(io, mode, secret, tls));
      modes.push_back(mode);
    }
    thread = std::thread{[this] {
      bench::name_this_thread("bench-rx");
      io.run();
    }};
  }
  ~receivers() {
    work.reset();
    io.stop();
    thread.join();
  }
  std::uint64_t accepted_healthy() const {
    std::uint64_t n = 0;
    for (std::size_t i = 0; i < all.size(); ++i)
      if (modes[i] == bench::receiver_mode::fast)
        n += all[i]->accepted();
    return n;
  }
  std::size_t healthy() const {
    return static_cast<std::size_t>(
        std::count(modes.begin(), modes.end(), bench::receiver_mode::fast));
  }
};

std::string padded_metadata() {
  return R"({"booking":"B-1234","note":")" + std::string(metadata_padding, 'x') + "\"}";
}

// -- the embedded driver ---------------------------------------------------------

template <class T, class F>
outcome<T> wait_for(F&& start) {
  std::promise<outcome<T>> p;
  auto f = p.get_future();
  start([&p](outcome<T> r) { p.set_value(std::move(r)); });
  return f.get();
}

/// What a driver reports: when the last command was acknowledged, and the CPU its own
/// thread spent inside the engine's API (`engine::act` reads the run's token on the
/// caller's thread; in rundund that is an engine thread's work, so it is the engine's here).
struct drive_result {
  steady::time_point acked;
  double engine_api_cpu_s = 0;
};

/// Answers every job through the engine with `window` commands in flight. The driver sleeps
/// while the window is full and is woken once `refill` slots are free, not at every
/// acknowledgement: one wake-up per command would cost a context switch per event.
drive_result drive_embedded(engine& eng, const std::vector<job>& jobs, std::size_t window,
                            pacer& pace) {
  const std::size_t refill = pace.paced() ? 1 : window / 8;
  std::mutex mtx;
  std::condition_variable cv;
  std::size_t in_flight = 0, done = 0, failed = 0;
  double api_cpu_s = 0;
  std::string step_id;
  for (auto& j : jobs) {
    pace.wait();
    {
      std::unique_lock lock{mtx};
      cv.wait(lock, [&] { return in_flight < window; });
      ++in_flight;
    }
    step_id = "s" + std::to_string(j.step);
    auto cpu_before = bench::this_thread_cpu_s();
    eng.act(j.token, run_action::answer, step_id, R"({"value":1})", [&](outcome<run_record> r) {
      std::lock_guard guard{mtx};
      --in_flight;
      ++done;
      if (!r)
        ++failed;
      if (in_flight + refill <= window || done == jobs.size())
        cv.notify_all();
    });
    api_cpu_s += bench::this_thread_cpu_s() - cpu_before;
  }
  std::unique_lock lock{mtx};
  cv.wait(lock, [&] { return done == jobs.size(); });
  if (failed)
    std::fprintf(stderr, "warning: %zu commands failed\n", failed);
  return {steady::now(), api_cpu_s};
}

std::vector<job> make_runs_embedded(engine& eng, const receivers& rx, std::size_t events) {
  template_spec spec{"bench", {}};
  for (int i = 0; i < steps_per_run; ++i)
    spec.steps.push_back(
        {"s" + std::to_string(i), "Step " + std::to_string(i), false, std::nullopt});
  auto tmpl = *wait_for<template_record>([&](auto cb) { eng.create_template(spec, cb); });
  std::size_t runs = (events + steps_per_run - 1) / steps_per_run;
  std::vector<std::string> tokens(runs);
  std::mutex mtx;
  std::condition_variable cv;
  std::size_t pending = 0;
  auto metadata = padded_metadata();
  for (std::size_t r = 0; r < runs; ++r) {
    {
      std::unique_lock lock{mtx};
      cv.wait(lock, [&] { return pending < 256; });
      ++pending;
    }
    run_spec rs{tmpl.id,
                webhook_spec{rx.all[r % rx.all.size()]->url(), std::nullopt, std::string(secret)},
                24, metadata};
    eng.create_run(rs, [&, r](outcome<created_run> c) {
      std::lock_guard guard{mtx};
      if (c)
        tokens[r] = c->run.token;
      --pending;
      cv.notify_all();
    });
  }
  std::unique_lock lock{mtx};
  cv.wait(lock, [&] { return pending == 0; });
  // Interleave runs so that consecutive jobs go to different runs and endpoints.
  std::vector<job> jobs;
  for (int s = 0; s < steps_per_run; ++s)
    for (std::size_t r = 0; r < runs && jobs.size() < events; ++r)
      jobs.push_back({tokens[r], s, r % rx.all.size()});
  return jobs;
}

// -- the HTTP driver ----------------------------------------------------------------

constexpr auto bench_key = "bench-api-key-0123456789";

void start_rundund(child_server& child, const options& opt, const std::string& data_dir,
                   std::vector<std::string> extra = {}) {
  extra.insert(extra.end(), {"--retry-schedule", "1s,1s,1s", "--log-level", "error"});
  start_rundund(child, opt.rundund, data_dir, bench_key, extra);
}

/// Creates the runs over HTTP with `threads` clients; returns the jobs.
std::vector<job> make_runs_http(std::uint16_t port, const receivers& rx, std::size_t events,
                                std::size_t threads) {
  namespace http = boost::beast::http;
  http_client setup{port};
  json::array steps;
  for (int i = 0; i < steps_per_run; ++i)
    steps.push_back(
        json::object{{"id", "s" + std::to_string(i)}, {"title", "Step"}, {"required", false}});
  auto [status, body] =
      setup.call(http::verb::post, "/v1/templates",
                 json::serialize(json::object{{"name", "bench"}, {"steps", steps}}), bench_key);
  auto tid = std::string(json::parse(body).at("id").as_string());
  std::size_t runs = (events + steps_per_run - 1) / steps_per_run;
  std::vector<std::string> tokens(runs);
  std::atomic<std::size_t> next{0};
  auto metadata = padded_metadata();
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      http_client c{port};
      for (std::size_t r; (r = next++) < runs;) {
        auto req = R"({"template_id":")" + tid + R"(","metadata":)" + metadata +
                   R"(,"webhook":{"url":")" + rx.all[r % rx.all.size()]->url() + R"(","secret":")" +
                   secret + "\"}}";
        auto [s, b] = c.call(http::verb::post, "/v1/runs", req, bench_key);
        auto link = std::string(json::parse(b).at("link").as_string());
        tokens[r] = link.substr(link.find("/r/") + 3);
      }
    });
  for (auto& t : pool)
    t.join();
  std::vector<job> jobs;
  for (int s = 0; s < steps_per_run; ++s)
    for (std::size_t r = 0; r < runs && jobs.size() < events; ++r)
      jobs.push_back({tokens[r], s, r % rx.all.size()});
  return jobs;
}

// -- scenarios ---------------------------------------------------------------------

std::uint64_t unique_healthy(const receivers& rx) {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < rx.all.size(); ++i)
    if (rx.modes[i] == bench::receiver_mode::fast)
      n += rx.all[i]->unique_events();
  return n;
}

/// What a delivery scenario runs against: receivers (HTTPS ones with `--tls`, under a CA
/// made for the run), and the engine in this process or rundund, with its runs made.
struct delivery_rig {
  std::filesystem::path dir;
  /// The in-bench CONNECT proxy (`--egress-proxy bench`); it outlives the engine.
  std::optional<test::connect_proxy> proxy;
  std::optional<bench::receiver_tls> tls;
  std::optional<receivers> rx;
  std::unique_ptr<engine> eng;
  child_server child;
  std::vector<job> jobs;
  /// Only healthy endpoints' events are counted and timed; the bad ones get their share.
  std::size_t healthy_events = 0;

  delivery_rig(const options& opt, double hang_share, double flaky_share)
      : dir(std::filesystem::temp_directory_path() / ("rundun-bench-" + std::to_string(getpid()))) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    if (opt.tls)
      tls.emplace(bench::make_receiver_tls(dir / "receiver-ca.pem"));
    rx.emplace(opt.endpoints, hang_share, flaky_share, tls ? tls->server : nullptr);
    auto proxy_url = opt.egress_proxy;
    if (proxy_url == in_bench_proxy)
      proxy_url = proxy.emplace().url();
    if (opt.driver == "embedded") {
      engine_options eo;
      eo.data_dir = dir / "store";
      eo.allow_private_destinations = true;
      eo.retry = *net::parse_retry_schedule("1s,1s,1s");
      if (tls)
        eo.ca_file = tls->ca_file.string();
      if (!proxy_url.empty())
        eo.egress_proxy = proxy_url;
      auto opened = engine::open(eo);
      if (!opened)
        throw std::runtime_error(opened.error().message);
      eng = std::move(*opened);
      jobs = make_runs_embedded(*eng, *rx, opt.events);
    } else {
      std::vector<std::string> extra;
      if (tls)
        extra = {"--ca-file", tls->ca_file.string()};
      if (!proxy_url.empty())
        extra.insert(extra.end(), {"--egress-proxy", proxy_url});
      start_rundund(child, opt, (dir / "store").string(), extra);
      jobs = make_runs_http(child.port, *rx, opt.events, 32);
    }
    for (auto& j : jobs)
      if (rx->modes[j.endpoint] == bench::receiver_mode::fast)
        ++healthy_events;
  }
  ~delivery_rig() {
    eng.reset();
    child.stop();
    rx.reset();
    std::filesystem::remove_all(dir);
  }
};

/// The CPU of a scenario's processes at one moment: this one, and rundund when it runs.
struct cpu_probe {
  pid_t server = -1;
  bench::cpu_sample self, rundund;
};

cpu_probe probe_cpu(pid_t server) {
  cpu_probe p{server, bench::sample_cpu(getpid()), {}};
  if (server > 0)
    p.rundund = bench::sample_cpu(server);
  return p;
}

/// The CPU between two probes, as the engine's and the load tool's. `engine_api_cpu_s` is
/// what the driver's thread spent inside the engine's API: moved to the engine.
bench::cpu_split cpu_spent(const cpu_probe& before, const cpu_probe& after,
                           double engine_api_cpu_s) {
  auto self = bench::cpu_between(before.self, after.self);
  if (before.server > 0) // over HTTP the engine is all of rundund, the load tool all of this
    return {bench::cpu_between(before.rundund, after.rundund), self};
  auto split = bench::split_by_owner(self);
  if (engine_api_cpu_s > 0) {
    split.harness.by_name["bench-drv"] -= engine_api_cpu_s;
    split.engine.by_name["bench-drv (engine::act)"] += engine_api_cpu_s;
  }
  return split;
}

/// `cpu` per event in µs, by thread name, threads that ended under "(exited)".
json::object per_event(const bench::cpu_by_thread& cpu, double events) {
  json::object out;
  for (auto& [name, s] : cpu.by_name)
    out[name] = s / events * 1e6;
  if (cpu.exited_s > 0)
    out["(exited)"] = cpu.exited_s / events * 1e6;
  return out;
}

/// One line per group on stderr, largest thread first.
void print_cpu(const char* group, const bench::cpu_by_thread& cpu, double events) {
  std::vector<std::pair<double, std::string>> rows;
  for (auto& [name, s] : cpu.by_name)
    rows.emplace_back(s, name);
  if (cpu.exited_s > 0)
    rows.emplace_back(cpu.exited_s, "(exited)");
  std::sort(rows.rbegin(), rows.rend());
  std::fprintf(stderr, "%-8s %6.1f µs/event:", group, cpu.total_s() / events * 1e6);
  for (auto& [s, name] : rows)
    std::fprintf(stderr, "  %s %.1f", name.c_str(), s / events * 1e6);
  std::fprintf(stderr, "\n");
}

/// What the healthy receivers saw.
struct received {
  std::uint64_t unique = 0, bad = 0, duplicates = 0, connections = 0;
  std::vector<std::int64_t> latencies;
};

received collect(const receivers& rx) {
  received out;
  for (std::size_t i = 0; i < rx.all.size(); ++i) {
    auto f = rx.all[i]->figures();
    out.bad += f.bad_signatures;
    out.connections += f.connections;
    if (rx.modes[i] != bench::receiver_mode::fast)
      continue;
    out.unique += f.unique_events;
    out.duplicates += f.duplicates;
    out.latencies.insert(out.latencies.end(), f.latencies_us.begin(), f.latencies_us.end());
  }
  return out;
}

/// Peak RSS of the process that holds the engine: this one, or rundund (from /proc while it
/// still runs).
double engine_peak_rss_mib(pid_t server) {
  if (server <= 0)
    return peak_rss_mib();
  std::ifstream status{"/proc/" + std::to_string(server) + "/status"};
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0)
      return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

/// Sends every job, with the driver on its own `bench-drv` thread, and waits until every
/// healthy event has arrived (at most 120 s). Returns the driver's report and the time the
/// last event arrived; `driver` stays alive for the caller's CPU sample.
std::pair<drive_result, steady::time_point> drive(delivery_rig& rig, bench::harness_thread& driver,
                                                  pacer& pace) {
  auto result = driver.run([&] {
    if (rig.eng)
      return drive_embedded(*rig.eng, rig.jobs, 512, pace);
    return drive_result{bench::drive_http(rig.child.port, rig.jobs, 64, pace), 0};
  });
  auto deadline = steady::now() + 120s;
  while (unique_healthy(*rig.rx) < rig.healthy_events && steady::now() < deadline)
    std::this_thread::sleep_for(1ms);
  return {result, steady::now()};
}

/// The embedded engine's delivery attempts and group commits so far (nothing over HTTP).
struct engine_counts {
  double attempts = 0, commits = 0, writes = 0;
};

engine_counts count_engine(const engine* eng) {
  if (!eng)
    return {};
  auto f = eng->figures();
  auto attempts = f.attempts_2xx + f.attempts_3xx + f.attempts_4xx + f.attempts_5xx +
                  f.attempts_timeout + f.attempts_connect + f.attempts_tls + f.attempts_refused +
                  f.attempts_proxy + f.attempts_other;
  return {static_cast<double>(attempts), static_cast<double>(f.commit_batches),
          static_cast<double>(f.commit_writes)};
}

/// What the receivers and the embedded engine counted: connections, attempts, commits.
json::object delivery_counts(const received& got, const engine_counts& before,
                             const engine_counts& after, double events) {
  json::object out{{"receiver_connections", got.connections}};
  if (after.commits > before.commits) {
    out["attempts_per_event"] = (after.attempts - before.attempts) / events;
    out["writes_per_commit"] = (after.writes - before.writes) / (after.commits - before.commits);
  }
  return out;
}

json::object run_delivery(const options& opt, double hang_share, double flaky_share) {
  delivery_rig rig{opt, hang_share, flaky_share};
  pacer pace{opt.rate};
  bench::harness_thread driver{"bench-drv"};
  // The process that holds the store: this one (embedded) or rundund.
  auto store_pid = rig.child.pid > 0 ? rig.child.pid : getpid();
  auto stored_before = bench::thread_bytes_written(store_pid, "rundun-store");
  auto counts_before = count_engine(rig.eng.get());
  auto cpu_before = probe_cpu(rig.child.pid);
  auto start = steady::now();
  auto [drove, delivered_at] = drive(rig, driver, pace);
  auto cpu = cpu_spent(cpu_before, probe_cpu(rig.child.pid), drove.engine_api_cpu_s);
  auto stored = bench::thread_bytes_written(store_pid, "rundun-store") - stored_before;
  auto counts = delivery_counts(collect(*rig.rx), counts_before, count_engine(rig.eng.get()),
                                static_cast<double>(rig.jobs.size()));

  auto got = collect(*rig.rx);
  auto events = static_cast<double>(rig.jobs.size());
  auto engine_s = cpu.engine.total_s(), harness_s = cpu.harness.total_s();
  print_cpu("engine", cpu.engine, events);
  print_cpu("harness", cpu.harness, events);
  json::object out{
      {"scenario", opt.scenario},
      {"driver", opt.driver},
      {"tls", opt.tls},
      {"egress_proxy", proxy_label(opt.egress_proxy)},
      {"events", rig.jobs.size()},
      {"healthy_events", rig.healthy_events},
      {"endpoints", opt.endpoints},
      {"offered_rate", opt.rate},
      {"delivered_verified", got.unique},
      {"bad_signatures", got.bad},
      {"duplicates", got.duplicates},
      {"accepted_per_s", events / seconds_between(start, drove.acked)},
      {"delivered_per_s", static_cast<double>(got.unique) / seconds_between(start, delivered_at)},
      // Every process of the scenario (driver, receivers, engine): per 1,000 events and
      // per event; then split into the engine's threads and the load tool's own.
      {"cpu_s_per_1000", (engine_s + harness_s) / events * 1000.0},
      {"cpu_us_per_event", (engine_s + harness_s) / events * 1e6},
      {"engine_cpu_us_per_event", engine_s / events * 1e6},
      {"harness_cpu_us_per_event", harness_s / events * 1e6},
      {"engine_cpu_by_thread", per_event(cpu.engine, events)},
      {"harness_cpu_by_thread", per_event(cpu.harness, events)},
      // What the store's writer thread wrote to the data file (its `wchar`).
      {"store_bytes_per_event", stored / events},
      {"p50_ms", percentile(got.latencies, 0.50)},
      {"p99_ms", percentile(got.latencies, 0.99)},
      {"p999_ms", percentile(got.latencies, 0.999)},
      {"peak_rss_mib", engine_peak_rss_mib(rig.child.pid)},
  };
  for (auto& [k, v] : counts)
    out[k] = v;
  return out;
}

/// Throughput direct, then through the egress proxy, in one run and with the same settings:
/// both results and their ratios.
json::object run_proxy_compare(const options& opt) {
  auto direct_opt = opt;
  direct_opt.egress_proxy.clear();
  auto proxied_opt = opt;
  if (proxied_opt.egress_proxy.empty())
    proxied_opt.egress_proxy = in_bench_proxy;
  auto direct = run_delivery(direct_opt, 0, 0);
  auto proxied = run_delivery(proxied_opt, 0, 0);
  auto ratio = [&](const char* key) {
    return proxied.at(key).to_number<double>() / direct.at(key).to_number<double>();
  };
  std::fprintf(stderr, "proxy-compare: delivered/s direct %.0f, through the proxy %.0f (%.2fx)\n",
               direct.at("delivered_per_s").to_number<double>(),
               proxied.at("delivered_per_s").to_number<double>(), ratio("delivered_per_s"));
  return {{"scenario", "proxy-compare"},
          {"direct", std::move(direct)},
          {"through_proxy", std::move(proxied)},
          {"delivered_per_s_ratio", ratio("delivered_per_s")},
          {"cpu_us_per_event_ratio", ratio("cpu_us_per_event")},
          {"p99_ms_ratio", ratio("p99_ms")}};
}

json::object run_open_runs(const options& opt) {
  auto dir =
      std::filesystem::temp_directory_path() / ("rundun-bench-runs-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  engine_options eo;
  eo.data_dir = dir;
  auto eng = std::move(*engine::open(eo));
  template_spec spec{"bench", {{std::string("a"), "A", true, 0}}};
  auto tmpl = *wait_for<template_record>([&](auto cb) { eng->create_template(spec, cb); });
  auto rss_before = peak_rss_mib();
  std::mutex mtx;
  std::condition_variable cv;
  std::size_t pending = 0, failed = 0;
  auto start = steady::now();
  for (std::size_t r = 0; r < opt.runs; ++r) {
    {
      std::unique_lock lock{mtx};
      cv.wait(lock, [&] { return pending < 512; });
      ++pending;
    }
    eng->create_run({tmpl.id, {}, 720, "{}"}, [&](outcome<created_run> c) {
      std::lock_guard guard{mtx};
      if (!c)
        ++failed;
      --pending;
      cv.notify_all();
    });
  }
  std::unique_lock lock{mtx};
  cv.wait(lock, [&] { return pending == 0; });
  lock.unlock();
  auto secs = seconds_between(start, steady::now());
  std::this_thread::sleep_for(500ms); // let the run actors settle
  json::object out{{"scenario", "open-runs"},
                   {"runs", opt.runs},
                   {"failed", failed},
                   {"created_per_s", opt.runs / secs},
                   {"active_run_actors", eng->figures().run_actors},
                   {"rss_mib", peak_rss_mib()},
                   // Of the resident memory now: the heap, and LMDB's memory-mapped file pages
                   // (clean pages the kernel may drop under pressure).
                   {"rss_anon_mib", status_mib("RssAnon")},
                   {"rss_file_mib", status_mib("RssFile")},
                   {"rss_before_mib", rss_before}};
  eng.reset();
  std::filesystem::remove_all(dir);
  return out;
}

/// Makes `events` deliveries that stay pending: runs whose webhook is `url`, under a
/// retry schedule that waits `schedule`.
void populate_pending(engine& eng, const std::string& url, std::size_t events) {
  template_spec spec{"bench", {}};
  for (int i = 0; i < steps_per_run; ++i)
    spec.steps.push_back({"s" + std::to_string(i), "Step", false, std::nullopt});
  auto tmpl = *wait_for<template_record>([&](auto cb) { eng.create_template(spec, cb); });
  std::size_t runs = (events + steps_per_run - 1) / steps_per_run;
  std::mutex mtx;
  std::condition_variable cv;
  std::size_t pending = 0;
  auto metadata = padded_metadata();
  auto acquire = [&] {
    std::unique_lock lock{mtx};
    cv.wait(lock, [&] { return pending < 512; });
    ++pending;
  };
  auto release = [&] {
    std::lock_guard guard{mtx};
    --pending;
    cv.notify_all();
  };
  std::vector<std::string> tokens(runs);
  for (std::size_t r = 0; r < runs; ++r) {
    acquire();
    eng.create_run({tmpl.id, webhook_spec{url, std::nullopt, std::string(secret)}, 720, metadata},
                   [&, r](outcome<created_run> c) {
                     if (c)
                       tokens[r] = c->run.token;
                     release();
                   });
  }
  {
    std::unique_lock lock{mtx};
    cv.wait(lock, [&] { return pending == 0; });
  }
  std::size_t made = 0;
  for (int st = 0; st < steps_per_run; ++st)
    for (std::size_t r = 0; r < runs && made < events; ++r, ++made) {
      acquire();
      eng.act(tokens[r], run_action::answer, "s" + std::to_string(st), "{}",
              [&](outcome<run_record>) { release(); });
    }
  std::unique_lock lock{mtx};
  cv.wait(lock, [&] { return pending == 0; });
}

/// A port with nothing listening on it (yet).
std::uint16_t free_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor a{io, {asio::ip::make_address("127.0.0.1"), 0}};
  return a.local_endpoint().port();
}

json::object run_backlog(const options& opt) {
  auto dir =
      std::filesystem::temp_directory_path() / ("rundun-bench-backlog-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  engine_options eo;
  eo.data_dir = dir;
  eo.allow_private_destinations = true;
  eo.retry = *net::parse_retry_schedule("1h,1h");
  // The populating runs' actors leave soon after, so that what is measured is the backlog.
  eo.run_idle_timeout = 2s;
  auto eng = std::move(*engine::open(eo));
  auto dead = "http://127.0.0.1:" + std::to_string(free_port()) + "/dead";
  auto start = steady::now();
  populate_pending(*eng, dead, opt.events);
  auto populate_s = seconds_between(start, steady::now());
  // The backlog is what waits on a dead endpoint: every event has had its first attempt
  // (refused) and waits an hour for the next. Until then the endpoint is still working
  // through first attempts, which is the cost of a dead endpoint receiving traffic, not of
  // a backlog; both figures are printed.
  auto attempted = [&] {
    auto f = eng->figures();
    return f.attempts_connect + f.attempts_other + f.attempts_timeout;
  };
  auto settle_start = steady::now();
  while (attempted() < opt.events && steady::now() < settle_start + 600s)
    std::this_thread::sleep_for(100ms);
  auto settle_s = seconds_between(start, steady::now());
  std::this_thread::sleep_for(2s); // the last attempts' results are committed
  auto rss_backlog = status_mib("VmRSS");
  auto anon_backlog = status_mib("RssAnon");
  auto resident_runs = eng->figures().run_actors;
  // Healthy traffic beside the backlog, on the same engine.
  receivers rx{opt.endpoints, 0, 0};
  auto jobs = make_runs_embedded(*eng, rx, 20000);
  pacer pace{0};
  auto written_before = bytes_written();
  auto t0 = steady::now();
  drive_embedded(*eng, jobs, 512, pace);
  while (unique_healthy(rx) < jobs.size() && steady::now() < t0 + 120s)
    std::this_thread::sleep_for(1ms);
  auto healthy_s = seconds_between(t0, steady::now());
  auto healthy_kib_written = (bytes_written() - written_before) / 1024.0 / jobs.size();
  json::object out{{"scenario", "backlog"},
                   {"dead_pending", opt.events},
                   {"populated_per_s", opt.events / populate_s},
                   {"first_attempts_done_s", settle_s},
                   {"rss_mib_with_backlog", rss_backlog},
                   {"rss_anon_mib_with_backlog", anon_backlog},
                   {"resident_run_actors", resident_runs},
                   {"healthy_events", jobs.size()},
                   {"healthy_delivered", unique_healthy(rx)},
                   {"healthy_delivered_per_s", unique_healthy(rx) / healthy_s},
                   {"healthy_kib_written_per_event", healthy_kib_written},
                   {"peak_rss_mib", peak_rss_mib()}};
  eng.reset();
  std::filesystem::remove_all(dir);
  return out;
}

json::object run_recovery(const options& opt) {
  auto dir = std::filesystem::temp_directory_path() /
             ("rundun-bench-recovery-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  auto port = free_port();
  auto url = "http://127.0.0.1:" + std::to_string(port) + "/hook";
  {
    engine_options eo;
    eo.data_dir = dir;
    eo.allow_private_destinations = true;
    eo.retry = *net::parse_retry_schedule("1s,1h");
    auto eng = std::move(*engine::open(eo));
    populate_pending(*eng, url, opt.events);
    std::this_thread::sleep_for(3s); // every retry is now overdue
  }
  auto data_file_mib =
      static_cast<double>(std::filesystem::file_size(dir / "data.mdb")) / (1024.0 * 1024.0);
  // The endpoint comes back, then the server starts on the backlog.
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor{io, {asio::ip::make_address("127.0.0.1"), port}};
  std::atomic<bool> got{false};
  steady::time_point first_request{};
  std::thread listener{[&] {
    asio::ip::tcp::socket s{io};
    acceptor.accept(s);
    boost::beast::flat_buffer b;
    boost::beast::http::request<boost::beast::http::string_body> req;
    boost::beast::error_code ec;
    boost::beast::http::read(s, b, req, ec);
    first_request = steady::now();
    got = true;
  }};
  child_server child;
  auto t0 = steady::now();
  options server_opt = opt;
  start_rundund(child, server_opt, dir.string());
  auto listening = steady::now();
  steady::time_point healthy{};
  for (;;) {
    try {
      http_client c{child.port};
      if (c.call(boost::beast::http::verb::get, "/healthz", "").first == 200) {
        healthy = steady::now();
        break;
      }
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(5ms);
  }
  while (!got && steady::now() < t0 + 60s)
    std::this_thread::sleep_for(1ms);
  if (!got) {
    acceptor.close();
    io.stop();
  }
  listener.join();
  json::object out{
      {"scenario", "recovery"},
      {"pending", opt.events},
      {"data_file_mib", data_file_mib},
      {"listening_s", seconds_between(t0, listening)},
      {"healthz_s", seconds_between(t0, healthy)},
      {"first_retry_after_healthz_s", got ? seconds_between(healthy, first_request) : -1.0}};
  child.stop();
  std::filesystem::remove_all(dir);
  return out;
}

void serve_receiver() {
  asio::io_context io;
  bench::bench_receiver rx{io, bench::receiver_mode::fast, secret};
  std::printf("%u\n", rx.port());
  std::fflush(stdout);
  io.run();
}

options parse(int argc, char** argv) {
  options o;
  if (argc < 2)
    throw std::runtime_error("usage: load_bench receive|throughput|isolation|open-runs [options]");
  o.scenario = argv[1];
  for (int i = 2; i < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--check" || k == "--tls") {
      (k == "--check" ? o.check : o.tls) = true;
      --i;
      continue;
    }
    if (i + 1 >= argc)
      throw std::runtime_error(k + " needs a value");
    std::string v = argv[i + 1];
    if (k == "--driver")
      o.driver = v;
    else if (k == "--events")
      o.events = std::stoul(v);
    else if (k == "--endpoints")
      o.endpoints = std::stoul(v);
    else if (k == "--runs")
      o.runs = std::stoul(v);
    else if (k == "--rate")
      o.rate = std::stod(v);
    else if (k == "--json")
      o.json_file = v;
    else if (k == "--rundund")
      o.rundund = v;
    else if (k == "--egress-proxy")
      o.egress_proxy = v;
    else
      throw std::runtime_error("unknown option " + k);
  }
  return o;
}

} // namespace

int main(int argc, char** argv) {
  try {
    auto opt = parse(argc, argv);
    std::signal(SIGPIPE, SIG_IGN);
    log::set_level(log::level::error); // failed attempts at bad endpoints are expected here
    json::object result;
    if (opt.scenario == "receive")
      return serve_receiver(), 0;
    if (opt.scenario == "throughput")
      result = run_delivery(opt, 0, 0);
    else if (opt.scenario == "isolation")
      result = run_delivery(opt, 0.1, 0.1);
    else if (opt.scenario == "proxy-compare")
      result = run_proxy_compare(opt);
    else if (opt.scenario == "open-runs")
      result = run_open_runs(opt);
    else if (opt.scenario == "backlog")
      result = run_backlog(opt);
    else if (opt.scenario == "recovery")
      result = run_recovery(opt);
    else
      throw std::runtime_error("unknown scenario " + opt.scenario);
    auto text = json::serialize(result);
    std::printf("%s\n", text.c_str());
    if (!opt.json_file.empty())
      std::ofstream{opt.json_file} << text << "\n";
    // proxy-compare holds two deliveries' results, each checked.
    std::vector<const json::object*> checked;
    if (result.contains("healthy_events"))
      checked.push_back(&result);
    for (auto part : {"direct", "through_proxy"})
      if (result.contains(part))
        checked.push_back(&result.at(part).as_object());
    if (opt.check && !checked.empty()) {
      bool ok = std::all_of(checked.begin(), checked.end(), [](const json::object* r) {
        return r->at("delivered_verified") == r->at("healthy_events") &&
               r->at("bad_signatures").as_uint64() == 0 && r->at("duplicates").as_uint64() == 0;
      });
      std::fprintf(stderr, "check %s/%s%s: %s\n", opt.scenario.c_str(), opt.driver.c_str(),
                   opt.tls ? " (https)" : "",
                   ok ? "every healthy event delivered once and verified" : "FAILED");
      return ok ? 0 : 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "load_bench: %s\n", e.what());
    return 1;
  }
}
