#include "actors/recovery_actor.hpp"

#include "actors/engine.hpp"
#include "net/log.hpp"
#include "net/url.hpp"
#include "persistence/store.hpp"
#include "tests/support/engine_calls.hpp"
#include "tests/support/server_process.hpp"

#define BOOST_TEST_MODULE recovery_actor
#include <boost/test/unit_test.hpp>

#include <future>

using namespace rundun;
using namespace std::chrono_literals;

namespace {

/// Nothing listens there: a recovered event's attempt fails at once.
constexpr auto shop_url = "http://127.0.0.1:1/hooks";
constexpr std::size_t failed_runs = 50, events_per_run = 2;

/// Writes `failed_runs` ended runs of two failed events each to `shop_url` straight into the
/// store of `dir`, before an engine opens it; the first run's webhook answered 410.
void write_failed_events(const std::filesystem::path& dir) {
  auto s = std::move(*persistence::store::open(dir));
  auto key = net::endpoint_key(*net::parse_url(shop_url));
  auto created = now() - std::chrono::hours{1};
  auto ec = s->write_sync([&](persistence::write_batch& b) -> boost::system::error_code {
    std::uint64_t seq = 0;
    for (std::size_t i = 0; i < failed_runs; ++i) {
      run_record r;
      r.id = {"r-failed-" + std::to_string(i)};
      r.source_template = {"t-1"};
      r.token = "token-" + std::to_string(i);
      r.created_at = created;
      r.expires_at = created + std::chrono::hours{24};
      r.status = run_status::completed;
      r.ended_at = created;
      r.webhook = webhook_config{shop_url,
                                 {all_event_types.begin(), all_event_types.end()},
                                 "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"};
      if (auto ec = b.put_run(r))
        return ec;
      if (i == 0)
        if (auto ec = b.disable_webhook(r.id))
          return ec;
      for (std::size_t k = 0; k < events_per_run; ++k) {
        event_record e;
        e.id = {"evt-failed-" + std::to_string(++seq)};
        e.run = r.id;
        e.created_at = created + std::chrono::milliseconds{static_cast<long>(seq)};
        e.seq = seq;
        e.endpoint = key;
        e.delivery.status = delivery_status::failed;
        if (auto ec = b.put_event(e, "{}", shop_url))
          return ec;
      }
    }
    return {};
  });
  BOOST_REQUIRE(!ec);
}

/// Holds the engine's read thread (a query's callback runs there) until released.
class read_thread_hold {
public:
  explicit read_thread_hold(engine& eng) {
    eng.read_template({"t-none"}, [held = &held_, released = released_](outcome<template_record>) {
      held->set_value(); // the constructor waits for this, so `held` is still there
      released.wait();
    });
    held_.get_future().wait();
  }
  ~read_thread_hold() { release(); }
  void release() {
    if (!done_) {
      done_ = true;
      release_.set_value();
    }
  }

private:
  std::promise<void> held_, release_;
  std::shared_future<void> released_ = release_.get_future().share();
  bool done_ = false;
};

/// A command's answer that can be looked at before it comes.
template <class T>
struct answer {
  std::promise<outcome<T>> promise;
  std::future<outcome<T>> future = promise.get_future();
  auto callback() {
    return [this](outcome<T> r) { promise.set_value(std::move(r)); };
  }
  bool came() { return future.wait_for(0s) == std::future_status::ready; }
};

/// The recovered events' attempts fail by design (nothing listens): their log lines are
/// noise here.
struct quiet_log {
  quiet_log() { log::set_level(log::level::error); }
};
BOOST_TEST_GLOBAL_FIXTURE(quiet_log);

engine_options options(const test::temp_dir& dir) {
  auto o = test::engine_options_for(dir.path(), 1s);
  o.retention = std::chrono::milliseconds{0};
  return o;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_recovery_counts_off_the_actor_threads_and_runs_expire_meanwhile) {
  test::temp_dir dir;
  write_failed_events(dir.path());
  auto eng = std::move(*engine::open(options(dir)));
  auto tmpl =
      test::wait<template_record>([&](auto cb) { eng->create_template(test::checklist(), cb); });
  BOOST_REQUIRE(tmpl);
  auto run = test::wait<created_run>([&](auto cb) {
    eng->create_run({tmpl->id, {}, 0.3 / 3600, "{}"}, cb);
  });
  BOOST_REQUIRE(run);
  answer<recovery_started> started;
  {
    // With the read thread held, the recovery cannot count: it does not answer. The actor
    // threads are free all the while, so the run expires on time.
    read_thread_hold hold{*eng};
    eng->recover(shop_url, from_unix_ms(0), started.callback());
    BOOST_TEST(test::eventually(
        [&] { return eng->get_run(run->run.id)->status == run_status::expired; }, 5s));
    BOOST_TEST(!started.came());
  }
  BOOST_REQUIRE(started.future.wait_for(10s) == std::future_status::ready);
  auto r = started.future.get();
  BOOST_REQUIRE(r);
  BOOST_TEST(r->recovering == (failed_runs - 1) * events_per_run);
  BOOST_TEST(r->skipped_webhook_disabled == events_per_run);
}

BOOST_AUTO_TEST_CASE(a_second_recovery_of_a_url_is_refused_until_the_first_has_finished) {
  test::temp_dir dir;
  write_failed_events(dir.path());
  auto eng = std::move(*engine::open(options(dir)));
  // Two at once, while the read thread is held: whichever comes second is refused at once,
  // while the other is still counting; the refusal changes nothing.
  answer<recovery_started> a, b;
  answer<recovery_started>* counting = nullptr;
  {
    read_thread_hold hold{*eng};
    eng->recover(shop_url, from_unix_ms(0), a.callback());
    eng->recover(shop_url, from_unix_ms(0), b.callback());
    BOOST_REQUIRE(test::eventually([&] { return a.came() || b.came(); }));
    BOOST_REQUIRE(a.came() != b.came());
    auto& refused = a.came() ? a : b;
    counting = a.came() ? &b : &a;
    auto second = refused.future.get();
    BOOST_REQUIRE(!second);
    BOOST_TEST((second.error().kind == error_kind::conflict));
    BOOST_TEST(second.error().code == "recovery_in_progress");
  }
  BOOST_REQUIRE(counting->future.wait_for(10s) == std::future_status::ready);
  auto r = counting->future.get();
  BOOST_REQUIRE(r);
  BOOST_TEST(r->recovering == (failed_runs - 1) * events_per_run);
  // Once every event it marked has had its attempt (refused at once: nothing listens), it
  // has finished, and a new one is accepted; the events failed again are its to send.
  auto key = *eng->endpoint_key(shop_url);
  BOOST_REQUIRE(test::eventually([&] {
    auto all = eng->list_endpoints(std::nullopt, {});
    if (!all)
      return false;
    for (auto& e : all->items)
      if (e.key == key)
        return e.stats.recovering == 0 && e.recovery_remaining == 0 && e.stats.pending == 0;
    return false;
  }));
  auto third =
      test::wait<recovery_started>([&](auto cb) { eng->recover(shop_url, from_unix_ms(0), cb); });
  BOOST_REQUIRE(third);
  BOOST_TEST(third->recovering == (failed_runs - 1) * events_per_run);
}
