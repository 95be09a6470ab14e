// list_bench: the lists of contract §8 over a large store, through a real rundund over HTTP.
// It writes a store of N events (10 per run by default, runs round-robin over E endpoints,
// 2 % failed, the rest delivered, spread over 30 days) straight through the store's API,
// starts rundund on it, and times each list shape: a first page of 50, and pages 2..20
// reached by cursor.
//
//   list_bench --rundund PATH [--events 1000000] [--events-per-run 10] [--endpoints 20]
//              [--shapes all|endpoints] [--samples 200] [--dir DIR] [--keep]
//
// `--shapes endpoints` times only `GET /v1/endpoints` (every status, pages of 50 and 500):
// with `--endpoints 200000 --events 400000 --events-per-run 2`, a store of 200,000 URLs.
// Prints p50, p99 and max per shape, in milliseconds, as the client saw them (keep-alive,
// one request at a time). With --dir and --keep the store is reused on the next run.

#include "bench_ids.hpp"
#include "bench_process.hpp"
#include "net/url.hpp"
#include "persistence/store.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <boost/beast/http.hpp>
#include <boost/json.hpp>

using namespace rundun;
namespace json = boost::json;
namespace http = boost::beast::http;

namespace {

constexpr auto key = "list-bench-api-key-0123456789";
constexpr std::size_t failed_per_mille = 20;
constexpr std::size_t runs_per_write = 1000;
const auto span = std::chrono::hours{24 * 30};

struct options {
  std::string rundund;
  std::size_t events = 1'000'000;
  std::size_t samples = 200;
  std::size_t endpoints = 20;
  std::size_t events_per_run = 10;
  /// Only the endpoints' list, for a store of many endpoints.
  bool endpoint_shapes_only = false;
  std::string dir;
  bool keep = false;
};

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--rundund")
      o.rundund = next();
    else if (a == "--events")
      o.events = std::stoul(next());
    else if (a == "--samples")
      o.samples = std::stoul(next());
    else if (a == "--endpoints")
      o.endpoints = std::max<std::size_t>(1, std::stoul(next()));
    else if (a == "--events-per-run")
      o.events_per_run = std::max<std::size_t>(1, std::stoul(next()));
    else if (a == "--shapes") {
      auto which = next();
      if (which != "all" && which != "endpoints")
        throw std::runtime_error("--shapes must be all or endpoints, got " + which);
      o.endpoint_shapes_only = which == "endpoints";
    } else if (a == "--dir")
      o.dir = next();
    else if (a == "--keep")
      o.keep = true;
    else
      throw std::runtime_error("unknown argument " + a);
  }
  if (o.rundund.empty())
    throw std::runtime_error("--rundund PATH is required");
  return o;
}

std::string url_of(std::size_t endpoint) {
  return "https://shop-" + std::to_string(endpoint) + ".example/hooks";
}

/// Writes the store: runs of `events_per_run` events each, oldest first, `runs_per_write`
/// runs per commit.
void fill(const std::filesystem::path& dir, std::size_t events, std::size_t endpoints,
          std::size_t events_per_run) {
  auto s = std::move(*persistence::store::open(dir));
  template_record t{template_id{bench::numbered_id("t-", 0)},
                    "Checkout",
                    {{"a", "Kitchen", false, 0}},
                    now() - span};
  if (s->write_sync([&](persistence::write_batch& b) { return b.put_template(t); }))
    throw std::runtime_error("the template could not be written");
  std::vector<std::string> keys;
  for (std::size_t e = 0; e < endpoints; ++e)
    keys.push_back(net::endpoint_key(*net::parse_url(url_of(e))));
  auto runs = events / events_per_run;
  auto start = now() - span;
  auto step =
      std::chrono::duration_cast<std::chrono::milliseconds>(span) / std::max<std::size_t>(1, runs);
  std::uint64_t seq = 0;
  std::string data(200, 'x');
  auto began = std::chrono::steady_clock::now();
  for (std::size_t first = 0; first < runs; first += runs_per_write) {
    auto ec = s->write_sync([&](persistence::write_batch& b) -> boost::system::error_code {
      for (auto i = first; i < std::min(runs, first + runs_per_write); ++i) {
        run_record r;
        r.id = run_id{bench::numbered_id("r-", i)};
        r.source_template = t.id;
        r.template_name = t.name;
        r.token = "tok" + r.id.value.substr(r.id.value.size() - 12); // the number, in hex
        r.created_at = start + step * static_cast<long>(i);
        r.expires_at = r.created_at + std::chrono::hours{24};
        r.status = run_status::completed;
        r.ended_at = r.created_at + std::chrono::minutes{5};
        r.steps.push_back({t.steps[0], step_status::skipped, "", {}, {}, r.created_at});
        auto endpoint = i % endpoints;
        r.webhook = webhook_config{url_of(endpoint),
                                   {all_event_types.begin(), all_event_types.end()},
                                   "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"};
        if (auto ec = b.put_run(r))
          return ec;
        for (std::size_t k = 0; k < events_per_run; ++k) {
          event_record e;
          e.id = event_id{bench::numbered_id("evt-", ++seq)};
          e.run = r.id;
          e.type = all_event_types[k % all_event_types.size()];
          e.created_at = r.created_at + std::chrono::seconds{static_cast<long>(k)};
          e.seq = seq;
          e.endpoint = keys[endpoint];
          bool failed = (seq * 7919) % 1000 < failed_per_mille;
          int tries = failed ? 6 : 1;
          for (int a = 1; a <= tries; ++a)
            e.delivery.attempts.push_back(
                {a, e.created_at + std::chrono::seconds{a}, failed ? 503 : 204,
                 failed ? std::optional<std::string>{"http status 503"} : std::nullopt, 12});
          e.delivery.status = failed ? delivery_status::failed : delivery_status::delivered;
          if (auto ec = b.put_event(e, data, url_of(endpoint)))
            return ec;
        }
      }
      return {};
    });
    if (ec)
      throw std::runtime_error("the store could not be written: " + ec.message());
  }
  auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  std::printf("store: %zu events in %zu runs written in %.1f s\n", runs * events_per_run, runs,
              took);
}

struct shape {
  std::string name, target;
};

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[std::min(v.size() - 1, static_cast<std::size_t>(p * v.size()))];
}

} // namespace

int main(int argc, char** argv) try {
  auto opt = parse(argc, argv);
  std::filesystem::path dir = opt.dir.empty()
                                  ? std::filesystem::temp_directory_path() /
                                        ("rundun-list-bench-" + std::to_string(::getpid()))
                                  : std::filesystem::path(opt.dir);
  std::printf(
      "list_bench: %zu events, %zu per run, %zu endpoints, %zu‰ failed; machine: %u cores\n",
      opt.events, opt.events_per_run, opt.endpoints, failed_per_mille,
      std::thread::hardware_concurrency());
  if (!std::filesystem::exists(dir / "data.mdb"))
    fill(dir, opt.events, opt.endpoints, opt.events_per_run);
  std::printf("store: %.0f MiB on disk in %s\n",
              static_cast<double>(std::filesystem::file_size(dir / "data.mdb")) / (1 << 20),
              dir.c_str());
  bench::child_server server;
  bench::start_rundund(server, opt.rundund, dir.string(), key, {"--retention-days", "0"});
  bench::http_client client{server.port};
  auto some_run = bench::numbered_id("r-", opt.events / opt.events_per_run / 2);
  auto shop = url_of(3);
  std::vector<shape> shapes{
      {"events", "/v1/events?limit=50"},
      {"events status=failed", "/v1/events?limit=50&status=failed"},
      {"events status=delivered", "/v1/events?limit=50&status=delivered"},
      // None is pending: each page walks its whole scan budget and ends empty, early.
      {"events status=pending", "/v1/events?limit=50&status=pending"},
      {"events endpoint", "/v1/events?limit=50&endpoint=" + shop},
      {"events endpoint+failed", "/v1/events?limit=50&status=failed&endpoint=" + shop},
      {"events type=run.expired", "/v1/events?limit=50&type=run.expired"},
      {"events run_id", "/v1/events?limit=50&run_id=" + some_run},
      {"events created_before",
       "/v1/events?limit=50&created_before=" + format_rfc3339(now() - std::chrono::hours{24 * 15})},
      {"runs", "/v1/runs?limit=50"},
      {"runs status=completed", "/v1/runs?limit=50&status=completed"},
      {"endpoints", "/v1/endpoints?limit=50"},
  };
  std::vector<shape> endpoint_shapes{
      {"endpoints", "/v1/endpoints?limit=50"},
      {"endpoints status=failing", "/v1/endpoints?limit=50&status=failing"},
      {"endpoints status=healthy", "/v1/endpoints?limit=50&status=healthy"},
      {"endpoints limit=500", "/v1/endpoints?limit=500"},
  };
  if (opt.endpoint_shapes_only)
    shapes = endpoint_shapes;
  std::printf("%-28s %8s %8s %8s %8s %14s\n", "list (page of 50)", "p50 ms", "p99 ms", "max ms",
              "items", "deep p99 ms");
  for (auto& s : shapes) {
    std::vector<double> first, deep;
    std::size_t items = 0;
    for (std::size_t i = 0; i < opt.samples; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      auto [status, body] = client.call(http::verb::get, s.target, "", key);
      first.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      if (status != 200)
        throw std::runtime_error(s.target + " answered " + std::to_string(status) + ": " + body);
      auto o = json::parse(body).as_object();
      for (auto& [name, v] : o) // the answer's one array: runs, events or endpoints
        if (v.is_array())
          items = v.as_array().size();
      // Pages 2..20 by cursor, once per 20 samples.
      if (i % 20 == 0) {
        auto next = o.at("next_cursor");
        for (int page = 2; page <= 20 && next.is_string(); ++page) {
          auto t1 = std::chrono::steady_clock::now();
          auto [st, b] = client.call(
              http::verb::get, s.target + "&cursor=" + std::string(next.as_string()), "", key);
          deep.push_back(
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t1)
                  .count());
          if (st != 200)
            throw std::runtime_error("a deeper page answered " + std::to_string(st) + ": " + b);
          next = json::parse(b).at("next_cursor");
        }
      }
    }
    std::printf("%-28s %8.2f %8.2f %8.2f %8zu %14s\n", s.name.c_str(), percentile(first, .5),
                percentile(first, .99), percentile(first, 1.0), items,
                deep.empty() ? "-" : std::to_string(percentile(deep, .99)).substr(0, 6).c_str());
    std::fflush(stdout);
  }
  server.stop();
  if (!opt.keep)
    std::filesystem::remove_all(dir);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "list_bench: %s\n", e.what());
  return 2;
}
