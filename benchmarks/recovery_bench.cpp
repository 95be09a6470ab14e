// recovery_bench: two large recoveries (`POST /v1/endpoints/recover`) in an embedded engine,
// and how late the runs that expire while they go are expired. A recovery counts and marks
// its failed events on the engine's read thread and its store writer; the actor threads
// only pass messages, so a run's expiry must not wait for a recovery.
//
//   recovery_bench [--events 200000] [--runs 40] [--check] [--dir DIR]
//
// It writes a store with `--events` failed events for each of two endpoints (runs of 10
// events; every 100th run's webhook answered 410, so its events are skipped), straight
// through the store's write batches, then opens the engine on it. The endpoints' receiver
// hangs, so the recovered events' attempts stay in flight and the delivery work stays small:
// what is measured is the recovery's own cost. It makes `--runs` runs that expire 0.2 s,
// 0.5 s, 0.8 s, … after it asks for both recoveries at once, and watches each from its own
// thread (every 2 ms) until it reads as expired. It prints each recovery's answer time and
// marking time, and the expiries' lateness (observed expiry minus `expires_at`).
//
// --check exits 1 unless both recoveries answer with the right counts and finish, and every
// run expires at most 1 s late (the suite runs it with a smaller --events).

#include "actors/engine.hpp"
#include "bench_ids.hpp"
#include "bench_receiver.hpp"
#include "net/log.hpp"
#include "net/url.hpp"
#include "persistence/store.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <unistd.h>

using namespace rundun;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t events_per_run = 10;
/// Runs per commit while the store is written.
constexpr std::size_t runs_per_write = 2000;
/// Every this many runs, one whose webhook answered 410: a recovery skips its events.
constexpr std::size_t disabled_every = 100;
constexpr auto secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// The first watched run expires this long after the recoveries are asked for, the next
/// ones `expiry_spacing` apart.
constexpr auto first_expiry = 200ms;
constexpr auto expiry_spacing = 300ms;
constexpr auto poll_every = 2ms;
/// What --check allows: an expiry at most this late.
constexpr auto lateness_bound = 1000ms;
/// How long the recoveries may take before the benchmark gives up on them.
constexpr auto recovery_limit = 600s;

struct options {
  std::size_t events = 200'000; ///< failed events per endpoint
  std::size_t runs = 40;        ///< watched expiries
  bool check = false;
  std::string dir;
};

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--events")
      o.events = std::stoul(next());
    else if (a == "--runs")
      o.runs = std::max<std::size_t>(1, std::stoul(next()));
    else if (a == "--check")
      o.check = true;
    else if (a == "--dir")
      o.dir = next();
    else
      throw std::runtime_error("unknown argument " + a +
                               "; use --events N --runs N --check --dir DIR");
  }
  return o;
}

struct endpoint_fill {
  std::string url, key;
  std::size_t failed = 0, skipped = 0;
};

/// Writes `per_endpoint` failed events for each URL of `eps`, runs of 10, oldest first.
void fill(const std::filesystem::path& dir, std::size_t per_endpoint,
          std::vector<endpoint_fill>& eps) {
  auto opened = persistence::store::open(dir);
  if (!opened)
    throw std::runtime_error("cannot open the store: " + opened.error().message());
  auto s = std::move(*opened);
  auto began = now() - std::chrono::hours{24};
  template_record t{
      template_id{bench::numbered_id("t-", 0)}, "Checkout", {{"a", "Kitchen", false, 0}}, began};
  if (s->write_sync([&](persistence::write_batch& b) { return b.put_template(t); }))
    throw std::runtime_error("the template could not be written");
  auto runs = per_endpoint / events_per_run * eps.size();
  std::uint64_t seq = 0;
  std::string data(200, 'x');
  for (std::size_t first = 0; first < runs; first += runs_per_write) {
    auto ec = s->write_sync([&](persistence::write_batch& b) -> boost::system::error_code {
      for (auto i = first; i < std::min(runs, first + runs_per_write); ++i) {
        auto& ep = eps[i % eps.size()];
        run_record r;
        r.id = run_id{bench::numbered_id("r-", i)};
        r.source_template = t.id;
        r.template_name = t.name;
        r.token = "tok" + r.id.value.substr(r.id.value.size() - 12); // the number, in hex
        r.created_at = began + std::chrono::milliseconds{static_cast<long>(i)};
        r.expires_at = r.created_at + std::chrono::hours{48};
        r.status = run_status::completed;
        r.ended_at = r.created_at + std::chrono::minutes{5};
        r.steps.push_back({t.steps[0], step_status::skipped, "", {}, {}, r.created_at});
        r.webhook =
            webhook_config{ep.url, {all_event_types.begin(), all_event_types.end()}, secret};
        if (auto ec = b.put_run(r))
          return ec;
        bool off = (i / eps.size()) % disabled_every == 0;
        if (off)
          if (auto ec = b.disable_webhook(r.id))
            return ec;
        for (std::size_t k = 0; k < events_per_run; ++k) {
          event_record e;
          e.id = event_id{bench::numbered_id("evt-", ++seq)};
          e.run = r.id;
          e.type = all_event_types[k % all_event_types.size()];
          e.created_at = r.created_at;
          e.seq = seq;
          e.endpoint = ep.key;
          for (int a = 1; a <= 3; ++a)
            e.delivery.attempts.push_back(
                {a, e.created_at + std::chrono::seconds{a}, 503, "http status 503", 12});
          e.delivery.status = delivery_status::failed;
          if (auto ec = b.put_event(e, data, ep.url))
            return ec;
          ++(off ? ep.skipped : ep.failed);
        }
      }
      return {};
    });
    if (ec)
      throw std::runtime_error("the store could not be written: " + ec.message());
  }
}

double ms_between(std::chrono::steady_clock::time_point a,
                  std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

} // namespace

int main(int argc, char** argv) try {
  auto opt = parse(argc, argv);
  log::set_level(log::level::error);
  auto dir = opt.dir.empty() ? std::filesystem::temp_directory_path() /
                                   ("recovery_bench." + std::to_string(::getpid()))
                             : std::filesystem::path(opt.dir);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);

  boost::asio::io_context rx_io;
  auto rx_work = boost::asio::make_work_guard(rx_io);
  bench::bench_receiver rx{rx_io, bench::receiver_mode::hang, secret};
  std::thread rx_thread{[&] { rx_io.run(); }};

  std::vector<endpoint_fill> eps(2);
  for (std::size_t i = 0; i < eps.size(); ++i) {
    eps[i].url = net::parse_url(rx.url() + "/shop-" + std::to_string(i))->normalized();
    eps[i].key = net::endpoint_key(*net::parse_url(eps[i].url));
  }
  auto fill_began = std::chrono::steady_clock::now();
  fill(dir, opt.events, eps);
  auto filled = std::chrono::steady_clock::now();

  engine_options eo;
  eo.data_dir = dir;
  eo.allow_private_destinations = true;
  eo.delivery_timeout = 2s; // the receiver hangs: attempts end here
  eo.retention = std::chrono::milliseconds{0};
  auto opened = engine::open(eo);
  if (!opened)
    throw std::runtime_error("cannot open the engine: " + opened.error().message);
  auto eng = std::move(*opened);

  auto tmpl = std::promise<outcome<template_record>>{};
  eng->create_template({"Watched", {{std::string("a"), "A", false, std::nullopt}}},
                       [&](outcome<template_record> r) { tmpl.set_value(std::move(r)); });
  auto t = tmpl.get_future().get();
  if (!t)
    throw std::runtime_error("cannot create a template: " + t.error().message);

  // The watched runs, made at once (a group commit or two) just before the recoveries are
  // asked for.
  std::vector<std::promise<outcome<created_run>>> made(opt.runs);
  for (std::size_t i = 0; i < opt.runs; ++i) {
    auto delay = first_expiry + expiry_spacing * static_cast<long>(i);
    run_spec spec{t->id, std::nullopt,
                  std::chrono::duration<double, std::ratio<3600>>(delay).count(), "{}"};
    eng->create_run(spec, [&p = made[i]](outcome<created_run> r) { p.set_value(std::move(r)); });
  }
  std::vector<run_record> watched;
  for (auto& p : made) {
    auto r = p.get_future().get();
    if (!r)
      throw std::runtime_error("cannot create a run: " + r.error().message);
    watched.push_back(r->run);
  }
  std::vector<double> lateness_ms(watched.size(), -1);
  std::atomic<bool> watching{true};
  std::thread watcher{[&] {
    std::size_t left = watched.size();
    while (left > 0 && watching) {
      for (std::size_t i = 0; i < watched.size(); ++i) {
        if (lateness_ms[i] >= 0)
          continue;
        auto r = eng->get_run(watched[i].id);
        if (r && r->status == run_status::expired) {
          lateness_ms[i] =
              std::chrono::duration<double, std::milli>(now() - watched[i].expires_at).count();
          --left;
        }
      }
      std::this_thread::sleep_for(poll_every);
    }
  }};

  // Both recoveries at once.
  auto asked = std::chrono::steady_clock::now();
  auto asked_wall = now();
  struct answer {
    std::promise<outcome<recovery_started>> p;
    std::chrono::steady_clock::time_point at;
  };
  std::vector<answer> answers(eps.size());
  for (std::size_t i = 0; i < eps.size(); ++i)
    eng->recover(eps[i].url, from_unix_ms(0), [&a = answers[i]](outcome<recovery_started> r) {
      a.at = std::chrono::steady_clock::now();
      a.p.set_value(std::move(r));
    });
  bool ok = true;
  std::vector<outcome<recovery_started>> started;
  for (auto& a : answers)
    started.push_back(a.p.get_future().get());
  // Done marking: no job left, and every failed event but the skipped ones is pending.
  std::chrono::steady_clock::time_point marked{};
  while (std::chrono::steady_clock::now() - asked < recovery_limit) {
    list_request every;
    every.limit = eps.size();
    auto all = eng->list_endpoints(std::nullopt, every);
    if (all) {
      bool done = true;
      for (auto& ep : eps)
        for (auto& h : all->items)
          if (h.key == ep.key && (h.recovery_remaining > 0 || h.stats.failed > ep.skipped))
            done = false;
      if (done) {
        marked = std::chrono::steady_clock::now();
        break;
      }
    }
    std::this_thread::sleep_for(50ms);
  }
  // The last watched run expires after the recoveries if they were quick.
  auto last_due = asked + (watched.back().expires_at - asked_wall) + 2s;
  while (std::chrono::steady_clock::now() < last_due &&
         std::any_of(lateness_ms.begin(), lateness_ms.end(), [](double l) { return l < 0; }))
    std::this_thread::sleep_for(50ms);
  watching = false;
  watcher.join();

  std::printf("recovery_bench: %zu failed events to each of %zu endpoints (every %zuth run's "
              "webhook off), %zu watched expiries; machine: %u cores\n",
              opt.events, eps.size(), disabled_every, opt.runs,
              std::thread::hardware_concurrency());
  std::printf("store written in %.1f s\n", ms_between(fill_began, filled) / 1000);
  for (std::size_t i = 0; i < eps.size(); ++i) {
    auto& s = started[i];
    if (!s) {
      std::printf("recovery %zu: refused: %s %s\n", i, s.error().code.c_str(),
                  s.error().message.c_str());
      ok = false;
      continue;
    }
    std::printf("recovery %zu: answered in %.0f ms: recovering %llu, skipped %llu (expected %zu, "
                "%zu)\n",
                i, ms_between(asked, answers[i].at), static_cast<unsigned long long>(s->recovering),
                static_cast<unsigned long long>(s->skipped_webhook_disabled), eps[i].failed,
                eps[i].skipped);
    ok = ok && s->recovering == eps[i].failed && s->skipped_webhook_disabled == eps[i].skipped;
  }
  if (marked == std::chrono::steady_clock::time_point{}) {
    std::printf("the recoveries did not finish marking within %lld s\n",
                static_cast<long long>(recovery_limit.count()));
    ok = false;
  } else {
    std::printf("both recoveries marked every event %.0f ms after they were asked for\n",
                ms_between(asked, marked));
  }
  double worst = 0;
  std::size_t during = 0;
  for (std::size_t i = 0; i < watched.size(); ++i) {
    auto due = asked + (watched[i].expires_at - asked_wall);
    bool in_recovery = marked == std::chrono::steady_clock::time_point{} || due < marked;
    during += in_recovery;
    if (lateness_ms[i] < 0) {
      std::printf("run %zu: not expired\n", i);
      ok = false;
      continue;
    }
    worst = std::max(worst, lateness_ms[i]);
    std::printf("run %zu: due %.1f s after the ask%s, expired %.0f ms late\n", i,
                std::chrono::duration<double>(due - asked).count(),
                in_recovery ? " (during the recoveries)" : "", lateness_ms[i]);
  }
  std::printf("expiry lateness: worst %.0f ms over %zu runs, %zu of them due during the "
              "recoveries\n",
              worst, watched.size(), during);
  ok = ok && worst <= std::chrono::duration<double, std::milli>(lateness_bound).count();

  eng->shutdown();
  eng.reset();
  rx_work.reset();
  rx_io.stop();
  rx_thread.join();
  if (opt.dir.empty())
    std::filesystem::remove_all(dir);
  if (opt.check && !ok) {
    std::printf("FAILED: see above\n");
    return 1;
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "recovery_bench: %s\n", e.what());
  return 2;
}
