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
//
// options: --driver embedded|http  --events N  --endpoints E  --rate R (events/s, 0: as fast
//          as possible)  --json FILE  --rundund PATH

#include "actors/engine.hpp"
#include "bench_process.hpp"
#include "bench_receiver.hpp"
#include "net/log.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
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
};

struct usage_point {
  steady::time_point at;
  double cpu_s;
};

usage_point usage_now() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto secs = [](timeval t) { return t.tv_sec + t.tv_usec / 1e6; };
  return {steady::now(), secs(u.ru_utime) + secs(u.ru_stime)};
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

/// Receivers on their own io thread.
struct receivers {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::vector<std::unique_ptr<bench::bench_receiver>> all;
  std::vector<bench::receiver_mode> modes;
  std::thread thread;

  receivers(std::size_t count, double hang_share, double flaky_share) {
    for (std::size_t i = 0; i < count; ++i) {
      auto mode = bench::receiver_mode::fast;
      if (i < static_cast<std::size_t>(count * hang_share))
        mode = bench::receiver_mode::hang;
      else if (i < static_cast<std::size_t>(count * (hang_share + flaky_share)))
        mode = bench::receiver_mode::flaky;
      all.push_back(std::make_unique<bench::bench_receiver>(io, mode, secret));
      modes.push_back(mode);
    }
    thread = std::thread{[this] { io.run(); }};
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

/// One unit of load: answer step `step` of the run behind `token`.
struct job {
  std::string token;
  int step;
  std::size_t endpoint;
};

/// Paces jobs at `rate` per second (0: no pacing).
struct pacer {
  double rate;
  steady::time_point start = steady::now();
  std::atomic<std::uint64_t> issued{0};
  void wait() {
    auto n = issued++;
    if (rate <= 0)
      return;
    auto due = start + std::chrono::duration_cast<steady::duration>(
                           std::chrono::duration<double>(n / rate));
    std::this_thread::sleep_until(due);
  }
};

// -- the embedded driver ---------------------------------------------------------

template <class T, class F>
outcome<T> wait_for(F&& start) {
  std::promise<outcome<T>> p;
  auto f = p.get_future();
  start([&p](outcome<T> r) { p.set_value(std::move(r)); });
  return f.get();
}

/// Answers every job through the engine with `window` commands in flight; returns the time
/// the last one was acknowledged.
steady::time_point drive_embedded(engine& eng, const std::vector<job>& jobs, std::size_t window,
                                  pacer& pace) {
  std::mutex mtx;
  std::condition_variable cv;
  std::size_t in_flight = 0, done = 0, failed = 0;
  for (auto& j : jobs) {
    pace.wait();
    {
      std::unique_lock lock{mtx};
      cv.wait(lock, [&] { return in_flight < window; });
      ++in_flight;
    }
    eng.act(j.token, run_action::answer, "s" + std::to_string(j.step), R"({"value":1})",
            [&](outcome<run_record> r) {
              std::lock_guard guard{mtx};
              --in_flight;
              ++done;
              if (!r)
                ++failed;
              cv.notify_all();
            });
  }
  std::unique_lock lock{mtx};
  cv.wait(lock, [&] { return done == jobs.size(); });
  if (failed)
    std::fprintf(stderr, "warning: %zu commands failed\n", failed);
  return steady::now();
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

void start_rundund(child_server& child, const options& opt, const std::string& data_dir) {
  start_rundund(child, opt.rundund, data_dir, bench_key,
                {"--retry-schedule", "1s,1s,1s", "--log-level", "error"});
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

/// Adds `pacer`'s due time to the async driver: when job `n` may be sent (now if unpaced).
steady::time_point due_time(const pacer& pace, std::uint64_t n) {
  if (pace.rate <= 0)
    return steady::now();
  return pace.start +
         std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(n / pace.rate));
}

/// One keep-alive connection of the HTTP driver: takes the next job, POSTs its answer,
/// reads the response, and goes on until the jobs run out. Async, so that 64 connections
/// cost one thread, as in wrk, and the driver does not eat the cores it measures.
class driver_connection : public std::enable_shared_from_this<driver_connection> {
public:
  struct shared {
    const std::vector<job>& jobs;
    pacer& pace;
    std::atomic<std::size_t> next{0};
    std::atomic<std::size_t> failed{0};
  };

  driver_connection(asio::io_context& io, shared& sh) : stream_(io), timer_(io), sh_(sh) {}

  void start(std::uint16_t port) {
    stream_.socket().connect({asio::ip::make_address("127.0.0.1"), port});
    stream_.socket().set_option(asio::ip::tcp::no_delay{true});
    next();
  }

private:
  void next() {
    auto i = sh_.next++;
    if (i >= sh_.jobs.size())
      return; // done: the connection closes when the last reference goes
    sh_.pace.issued++;
    timer_.expires_at(due_time(sh_.pace, i));
    timer_.async_wait([self = shared_from_this(), i](boost::system::error_code) { self->send(i); });
  }

  void send(std::size_t i) {
    namespace http = boost::beast::http;
    auto& j = sh_.jobs[i];
    req_ = {http::verb::post, "/r/" + j.token + "/steps/s" + std::to_string(j.step) + "/answer",
            11};
    req_.set(http::field::host, "127.0.0.1");
    req_.body() = R"({"value":1})";
    req_.prepare_payload();
    http::async_write(stream_, req_,
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                        if (ec)
                          return self->fail();
                        self->res_ = {};
                        http::async_read(self->stream_, self->buffer_, self->res_,
                                         [self](boost::system::error_code ec, std::size_t) {
                                           if (ec)
                                             return self->fail();
                                           if (self->res_.result_int() != 200)
                                             ++self->sh_.failed;
                                           self->next();
                                         });
                      });
  }

  void fail() { ++sh_.failed; }

  boost::beast::tcp_stream stream_;
  asio::steady_timer timer_;
  shared& sh_;
  boost::beast::flat_buffer buffer_;
  boost::beast::http::request<boost::beast::http::string_body> req_;
  boost::beast::http::response<boost::beast::http::string_body> res_;
};

steady::time_point drive_http(std::uint16_t port, const std::vector<job>& jobs,
                              std::size_t connections, pacer& pace) {
  asio::io_context io;
  driver_connection::shared sh{jobs, pace};
  for (std::size_t c = 0; c < connections; ++c)
    std::make_shared<driver_connection>(io, sh)->start(port);
  io.run(); // returns when every connection has run out of jobs
  if (sh.failed)
    std::fprintf(stderr, "warning: %zu requests failed\n", sh.failed.load());
  return steady::now();
}

// -- scenarios ---------------------------------------------------------------------

std::uint64_t unique_healthy(const receivers& rx) {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < rx.all.size(); ++i)
    if (rx.modes[i] == bench::receiver_mode::fast)
      n += rx.all[i]->unique_events();
  return n;
}

json::object run_delivery(const options& opt, double hang_share, double flaky_share) {
  auto dir = std::filesystem::temp_directory_path() / ("rundun-bench-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  receivers rx{opt.endpoints, hang_share, flaky_share};
  // Only healthy endpoints' events are counted and timed; the bad ones get their share.
  std::optional<std::unique_ptr<engine>> eng;
  child_server child;
  std::vector<job> jobs;
  if (opt.driver == "embedded") {
    engine_options eo;
    eo.data_dir = dir;
    eo.allow_private_destinations = true;
    eo.retry = *net::parse_retry_schedule("1s,1s,1s");

    eng = std::move(*engine::open(eo));
    jobs = make_runs_embedded(**eng, rx, opt.events);
  } else {
    start_rundund(child, opt, dir.string());
    jobs = make_runs_http(child.port, rx, opt.events, 32);
  }
  std::size_t healthy_events = 0;
  for (auto& j : jobs)
    if (rx.modes[j.endpoint] == bench::receiver_mode::fast)
      ++healthy_events;

  pacer pace{opt.rate};
  auto server_cpu_before = child.pid > 0 ? bench::process_cpu_s(child.pid) : 0.0;
  // The process that holds the store: this one (embedded) or rundund.
  auto store_pid = child.pid > 0 ? child.pid : getpid();
  auto stored_before = bench::thread_bytes_written(store_pid, "rundun-store");
  auto start = usage_now();
  auto acked = opt.driver == "embedded" ? drive_embedded(**eng, jobs, 512, pace)
                                        : drive_http(child.port, jobs, 64, pace);
  auto deadline = steady::now() + 120s;
  while (unique_healthy(rx) < healthy_events && steady::now() < deadline)
    std::this_thread::sleep_for(1ms);
  auto delivered_at = steady::now();
  auto end = usage_now();
  // Over HTTP the server is another process: its CPU counts too.
  auto server_cpu = child.pid > 0 ? bench::process_cpu_s(child.pid) - server_cpu_before : 0.0;
  auto stored = bench::thread_bytes_written(store_pid, "rundun-store") - stored_before;

  std::vector<std::int64_t> latencies;
  std::uint64_t unique = 0, bad = 0, duplicates = 0;
  for (std::size_t i = 0; i < rx.all.size(); ++i) {
    auto f = rx.all[i]->figures();
    bad += f.bad_signatures;
    if (rx.modes[i] != bench::receiver_mode::fast)
      continue;
    unique += f.unique_events;
    duplicates += f.duplicates;
    latencies.insert(latencies.end(), f.latencies_us.begin(), f.latencies_us.end());
  }
  double accept_s = seconds_between(start.at, acked);
  double deliver_s = seconds_between(start.at, delivered_at);
  json::object out{
      {"scenario", opt.scenario},
      {"driver", opt.driver},
      {"events", jobs.size()},
      {"healthy_events", healthy_events},
      {"endpoints", opt.endpoints},
      {"offered_rate", opt.rate},
      {"delivered_verified", unique},
      {"bad_signatures", bad},
      {"duplicates", duplicates},
      {"accepted_per_s", jobs.size() / accept_s},
      {"delivered_per_s", unique / deliver_s},
      {"cpu_s_per_1000",
       (end.cpu_s - start.cpu_s + server_cpu) / static_cast<double>(jobs.size()) * 1000.0},
      // The same, per event: every process of the scenario (driver, receivers, engine).
      {"cpu_us_per_event",
       (end.cpu_s - start.cpu_s + server_cpu) / static_cast<double>(jobs.size()) * 1e6},
      // What the store's writer thread wrote to the data file (its `wchar`).
      {"store_bytes_per_event", stored / static_cast<double>(jobs.size())},
      {"p50_ms", percentile(latencies, 0.50)},
      {"p99_ms", percentile(latencies, 0.99)},
      {"p999_ms", percentile(latencies, 0.999)},
      {"peak_rss_mib", opt.driver == "embedded" ? peak_rss_mib() : 0.0},
  };
  if (opt.driver == "http") {
    // The server's own peak RSS, from /proc while it still runs.
    std::ifstream status{"/proc/" + std::to_string(child.pid) + "/status"};
    for (std::string line; std::getline(status, line);)
      if (line.rfind("VmHWM:", 0) == 0)
        out["peak_rss_mib"] = std::stod(line.substr(6)) / 1024.0;
  }
  eng.reset();
  std::filesystem::remove_all(dir);
  return out;
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
    if (k == "--check") {
      o.check = true;
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
    if (opt.check && result.contains("healthy_events")) {
      bool ok = result.at("delivered_verified") == result.at("healthy_events") &&
                result.at("bad_signatures").as_uint64() == 0 &&
                result.at("duplicates").as_uint64() == 0;
      std::fprintf(stderr, "check %s/%s: %s\n", opt.scenario.c_str(), opt.driver.c_str(),
                   ok ? "every healthy event delivered once and verified" : "FAILED");
      return ok ? 0 : 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "load_bench: %s\n", e.what());
    return 1;
  }
}
