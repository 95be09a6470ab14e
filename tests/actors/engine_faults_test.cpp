#include "actors/engine.hpp"

#include "tests/support/engine_calls.hpp"
#include "tests/support/scripted_receiver.hpp"
#include "tests/support/server_process.hpp"

#define BOOST_TEST_MODULE engine_faults
#include <atomic>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <condition_variable>
#include <fstream>
#include <future>
#include <iterator>
#include <limits>
#include <map>
#include <mutex>
#include <set>

// Faults injected into a real engine (real LMDB, real actors, real HTTP receivers): a write
// that fails, an actor that throws, and endpoints that go idle. Each case fails without the
// fix it covers: commands hung, changes a client was told had failed reached the disk, one
// throwing actor took its siblings down, and endpoint actors lived forever.

using namespace rundun;
using rundun::test::checklist;
using rundun::test::pending_answer;
using rundun::test::wait;
using namespace std::chrono_literals;

namespace {

engine_options options(const test::temp_dir& dir) {
  return test::engine_options_for(dir.path(), 2s);
}

created_run make_run(engine& eng, const template_id& t, const std::string& url = "") {
  std::optional<webhook_spec> hook;
  if (!url.empty())
    hook = webhook_spec{url, std::nullopt, std::nullopt};
  return *wait<created_run>([&](auto cb) { eng.create_run({t, hook, 1, "{}"}, cb); });
}

std::vector<std::string> event_types(const std::vector<test::received>& got) {
  std::vector<std::string> out;
  for (auto& r : got)
    out.emplace_back(r.json().at("event").as_string());
  return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_failed_write_answers_every_waiting_command_and_stores_none_of_its_change) {
  test::temp_dir dir;
  test::scripted_receiver rx;
  auto opts = options(dir);
  // The write of the answer to "kitchen" fails as a full disk would, once the run's actor
  // has taken all three commands below: the writer waits for that, so the two later
  // commands are certain to be waiting in the actor when the failure comes back.
  struct gate {
    std::mutex mtx;
    std::condition_variable cv;
    int taken = 0;
  };
  auto g = std::make_shared<gate>();
  opts.faults.on_message = [g](std::string_view actor, std::string_view) {
    if (actor != "run")
      return;
    std::lock_guard lock{g->mtx};
    ++g->taken;
    g->cv.notify_all();
  };
  opts.faults.fail_run_write = [g](std::string_view, std::string_view action,
                                   std::string_view step) {
    if (action != "answer" || step != "kitchen")
      return false;
    std::unique_lock lock{g->mtx};
    g->cv.wait_for(lock, 10s, [&] { return g->taken >= 3; });
    return true;
  };
  auto eng = std::move(*engine::open(opts));
  auto tmpl = *wait<template_record>([&](auto cb) { eng->create_template(checklist(), cb); });
  auto run = make_run(*eng, tmpl.id, rx.url());
  auto token = run.run.token;
  // Three commands of one run in flight at once: the two after the failing one wait for it.
  pending_answer<run_record> answer{
      [&](auto cb) { eng->act(token, run_action::answer, "kitchen", R"({"value":1})", cb); }};
  pending_answer<run_record> skip{
      [&](auto cb) { eng->act(token, run_action::skip, "notes", "", cb); }};
  pending_answer<run_record> submit{
      [&](auto cb) { eng->act(token, run_action::submit, "", "", cb); }};

  auto a = answer.get();
  BOOST_REQUIRE(!a);
  BOOST_TEST(a.error().code == "storage_error");
  auto s = skip.get();
  BOOST_TEST_REQUIRE(s.has_value(), (s ? "" : s.error().code));
  // The skip was applied to the run as stored: kitchen is still pending in its answer.
  BOOST_TEST((s->steps[0].status == step_status::pending));
  BOOST_TEST((s->steps[1].status == step_status::skipped));
  auto sub = submit.get();
  BOOST_REQUIRE(!sub);
  BOOST_TEST(sub.error().code == "steps_missing");
  BOOST_TEST(sub.error().steps == std::vector<std::string>{"kitchen"});

  // On disk: nothing of the failed answer, all of the skip.
  auto stored = *eng->get_run(run.run.id);
  BOOST_TEST((stored.steps[0].status == step_status::pending));
  BOOST_TEST((stored.steps[1].status == step_status::skipped));
  BOOST_TEST(stored.active());
  auto events = *eng->get_events(run.run.id);
  BOOST_REQUIRE(events.size() == 1u);
  BOOST_TEST((events[0].type == event_type::step_skipped));
  // The skip's event, written after the failure, is delivered.
  BOOST_REQUIRE(rx.wait_for(1, 10s));
  BOOST_TEST(event_types(rx.requests()) == std::vector<std::string>{"step.skipped"});
  // The failed write's event was handed to its endpoint before the commit, and its request
  // waited for it: dropped unsent, nothing left in flight, one attempt made in all.
  BOOST_TEST(test::eventually([&] { return eng->figures().in_flight == 0; }));
  BOOST_TEST(eng->figures().attempts_2xx == 1u);

  // The run goes on: a later answer is stored and delivered.
  auto later = wait<run_record>([&](auto cb) {
    eng->act(token, run_action::submit, "", "", cb); // still missing kitchen
  });
  BOOST_TEST(later.error().code == "steps_missing");
}

BOOST_AUTO_TEST_CASE(a_request_waiting_for_its_events_commit_is_dropped_unsent_if_the_write_fails) {
  test::temp_dir dir;
  test::scripted_receiver rx;
  auto opts = options(dir);
  struct seen {
    std::mutex mtx;
    std::condition_variable cv;
    std::vector<std::string> at_commit;
    std::size_t wait_for = 0;
    bool failed_once = false;
  };
  auto s = std::make_shared<seen>();
  opts.faults.on_message = [s](std::string_view actor, std::string_view id) {
    if (actor != "endpoint.at_commit")
      return;
    std::lock_guard lock{s->mtx};
    s->at_commit.emplace_back(id);
    s->cv.notify_all();
  };
  // The first answer's write holds the writer until its event's request, signed, waits in
  // the write's gate at the endpoint; then it fails as a full disk would.
  opts.faults.fail_run_write = [s](std::string_view, std::string_view action,
                                   std::string_view step) {
    if (action != "answer" || step != "kitchen")
      return false;
    std::unique_lock lock{s->mtx};
    if (s->failed_once)
      return false;
    s->failed_once = true;
    return s->cv.wait_for(lock, 10s, [&] { return s->at_commit.size() >= s->wait_for; });
  };
  auto eng = std::move(*engine::open(opts));
  auto tmpl = *wait<template_record>([&](auto cb) { eng->create_template(checklist(), cb); });
  auto run = make_run(*eng, tmpl.id, rx.url());
  auto token = run.run.token;
  // A first event makes the endpoint's actor, which then has nothing on disk to page in.
  BOOST_REQUIRE(
      wait<run_record>([&](auto cb) { eng->act(token, run_action::skip, "notes", "", cb); }));
  BOOST_REQUIRE(rx.wait_for(1, 10s));
  BOOST_REQUIRE(test::eventually([&] { return eng->figures().in_flight == 0; }));
  {
    std::lock_guard lock{s->mtx};
    s->wait_for = s->at_commit.size() + 1;
  }
  auto a = wait<run_record>(
      [&](auto cb) { eng->act(token, run_action::answer, "kitchen", R"({"value":1})", cb); });
  BOOST_REQUIRE(!a);
  BOOST_TEST(a.error().code == "storage_error");
  // Its request never left, and nothing is left in flight.
  BOOST_TEST(test::eventually([&] { return eng->figures().in_flight == 0; }));
  BOOST_TEST((*eng->get_events(run.run.id)).size() == 1u);
  // The same answer again is stored, and its event arrives: two requests in all.
  auto again = wait<run_record>(
      [&](auto cb) { eng->act(token, run_action::answer, "kitchen", R"({"value":1})", cb); });
  BOOST_REQUIRE(again);
  BOOST_REQUIRE(rx.wait_for(2, 10s));
  BOOST_TEST(event_types(rx.requests()) ==
             (std::vector<std::string>{"step.skipped", "step.completed"}));
  BOOST_TEST(test::eventually([&] { return eng->figures().in_flight == 0; }));
  BOOST_TEST(eng->figures().attempts_2xx == 2u);
}

BOOST_AUTO_TEST_CASE(a_run_actor_that_throws_fails_its_commands_and_no_other_run) {
  test::temp_dir dir;
  test::scripted_receiver rx;
  auto opts = options(dir);
  auto victim = std::make_shared<std::string>();
  auto throws = std::make_shared<std::atomic<bool>>(true);
  opts.faults.on_message = [victim, throws](std::string_view actor, std::string_view id) {
    if (actor == "run" && id == *victim && throws->exchange(false))
      throw std::runtime_error("injected fault");
  };
  auto eng = std::move(*engine::open(opts));
  auto tmpl = *wait<template_record>([&](auto cb) { eng->create_template(checklist(), cb); });
  auto bad = make_run(*eng, tmpl.id, rx.url());
  auto good = make_run(*eng, tmpl.id, rx.url());
  *victim = bad.run.id.value;

  // The good run has a resident actor before the fault, to prove it survives it.
  BOOST_REQUIRE(wait<run_record>(
      [&](auto cb) { eng->act(good.run.token, run_action::skip, "notes", "", cb); }));
  auto failed = wait<run_record>(
      [&](auto cb) { eng->act(bad.run.token, run_action::skip, "notes", "", cb); });
  BOOST_REQUIRE(!failed);
  BOOST_TEST(failed.error().code == "engine_error");
  // The directory counts the failure when the actor's exit reaches it, just after the answer.
  BOOST_TEST(test::eventually([&] { return eng->figures().run_actor_failures == 1u; }));

  // The sibling never noticed: its actor is the same one, and it goes on.
  auto good_done = wait<run_record>(
      [&](auto cb) { eng->act(good.run.token, run_action::answer, "kitchen", "{}", cb); });
  BOOST_REQUIRE(good_done);
  // The failed run comes back from the store in a fresh actor: the skip never happened.
  auto bad_again = wait<run_record>(
      [&](auto cb) { eng->act(bad.run.token, run_action::skip, "notes", "", cb); });
  BOOST_TEST_REQUIRE(bad_again.has_value(), (bad_again ? "" : bad_again.error().code));
  BOOST_TEST((bad_again->steps[1].status == step_status::skipped));
  BOOST_REQUIRE(rx.wait_for(3, 10s));
  auto types = event_types(rx.requests());
  BOOST_TEST(std::count(types.begin(), types.end(), "step.skipped") == 2);
  BOOST_TEST(std::count(types.begin(), types.end(), "step.completed") == 1);
}

BOOST_AUTO_TEST_CASE(an_endpoint_actor_that_throws_is_restarted_from_the_store) {
  test::temp_dir dir;
  test::scripted_receiver hit, bystander;
  auto opts = options(dir);
  auto throws = std::make_shared<std::atomic<bool>>(true);
  auto target = hit.url();
  opts.faults.on_message = [throws, target](std::string_view actor, std::string_view url) {
    if (actor == "endpoint" && url == target && throws->exchange(false))
      throw std::runtime_error("injected fault");
  };
  auto eng = std::move(*engine::open(opts));
  auto tmpl = *wait<template_record>([&](auto cb) { eng->create_template(checklist(), cb); });
  auto a = make_run(*eng, tmpl.id, hit.url());
  auto b = make_run(*eng, tmpl.id, bystander.url());
  // The bystander's endpoint is live before the fault.
  BOOST_REQUIRE(
      wait<run_record>([&](auto cb) { eng->act(b.run.token, run_action::skip, "notes", "", cb); }));
  BOOST_REQUIRE(bystander.wait_for(1, 10s));
  // The first delivery order to `hit` throws in its endpoint actor: the event is on disk, and
  // the restarted actor pages it in.
  BOOST_REQUIRE(
      wait<run_record>([&](auto cb) { eng->act(a.run.token, run_action::skip, "notes", "", cb); }));
  BOOST_TEST(hit.wait_for(1, 15s));
  BOOST_TEST(test::eventually([&] { return eng->figures().endpoint_actor_failures == 1u; }));
  BOOST_TEST(test::eventually([&] {
    auto ev = *eng->get_events(a.run.id);
    return ev.size() == 1u && ev[0].delivery.status == delivery_status::delivered;
  }));
  // The bystander never noticed.
  BOOST_REQUIRE(wait<run_record>(
      [&](auto cb) { eng->act(b.run.token, run_action::answer, "kitchen", "{}", cb); }));
  BOOST_TEST(bystander.wait_for(2, 10s));
  BOOST_TEST(bystander.requests().size() == 2u);
  BOOST_TEST(hit.requests().size() == 1u);
}

BOOST_AUTO_TEST_CASE(idle_endpoint_actors_leave_and_come_back_with_the_next_event) {
  test::temp_dir dir;
  std::vector<std::unique_ptr<test::scripted_receiver>> rxs;
  for (int i = 0; i < 3; ++i)
    rxs.push_back(std::make_unique<test::scripted_receiver>());
  auto opts = options(dir);
  opts.endpoint_idle_timeout = 200ms;
  opts.run_idle_timeout = 200ms;
  auto eng = std::move(*engine::open(opts));
  auto baseline = eng->figures().live_actors;
  auto tmpl = *wait<template_record>([&](auto cb) { eng->create_template(checklist(), cb); });
  std::vector<created_run> runs;
  for (auto& rx : rxs) {
    runs.push_back(make_run(*eng, tmpl.id, rx->url()));
    BOOST_REQUIRE(wait<run_record>(
        [&](auto cb) { eng->act(runs.back().run.token, run_action::skip, "notes", "", cb); }));
  }
  for (auto& rx : rxs)
    BOOST_REQUIRE(rx->wait_for(1, 10s));
  BOOST_TEST(eng->figures().endpoint_actors >= 1);
  // Nothing to do: every endpoint and run actor leaves, and the actor count is back where it
  // started.
  BOOST_TEST(test::eventually([&] { return eng->figures().endpoint_actors == 0; }, 10s));
  BOOST_TEST(test::eventually([&] { return eng->figures().live_actors == baseline; }, 10s),
             "live actors " << eng->figures().live_actors << ", baseline " << baseline);
  // The next event of an endpoint brings its actor back, and it is delivered.
  BOOST_REQUIRE(wait<run_record>(
      [&](auto cb) { eng->act(runs[1].run.token, run_action::answer, "kitchen", "{}", cb); }));
  BOOST_TEST(rxs[1]->wait_for(2, 10s));
  BOOST_TEST(test::eventually([&] { return eng->figures().endpoint_actors == 0; }, 10s));
}

BOOST_AUTO_TEST_CASE(a_full_media_queue_refuses_uploads_with_overloaded_and_changes_nothing) {
  test::temp_dir dir;
  auto opts = options(dir);
  opts.media_queue_limit = 4;
  // The media thread is held on the first upload, so the queue behind it fills.
  auto release = std::make_shared<std::promise<void>>();
  auto released = release->get_future().share();
  opts.faults.before_media = [released] { released.wait_for(30s); };
  auto eng = std::move(*engine::open(opts));
  auto tmpl = *wait<template_record>([&](auto cb) { eng->create_template(checklist(), cb); });
  auto run = make_run(*eng, tmpl.id);
  std::ifstream in{std::string(RUNDUN_TEST_DATA) + "/photo.jpg", std::ios::binary};
  std::string jpeg{std::istreambuf_iterator<char>(in), {}};

  std::vector<std::unique_ptr<pending_answer<uploaded_photo>>> uploads;
  for (int i = 0; i < 7; ++i)
    uploads.push_back(std::make_unique<pending_answer<uploaded_photo>>(
        [&](auto cb) { eng->add_photo(run.run.token, "kitchen", "image/jpeg", jpeg, cb); }));
  // The three over the limit are refused at once, before anything is released.
  int refused = 0;
  for (int i = 4; i < 7; ++i) {
    auto r = uploads[i]->get();
    BOOST_REQUIRE(!r);
    BOOST_TEST(r.error().code == "overloaded");
    BOOST_TEST((r.error().kind == error_kind::overloaded));
    ++refused;
  }
  BOOST_TEST(refused == 3);
  BOOST_TEST(eng->figures().media_queue == 4u);
  release->set_value();
  for (int i = 0; i < 4; ++i)
    BOOST_TEST(uploads[i]->get().has_value());
  BOOST_TEST(eng->figures().media_queue == 0u);
  // The refused uploads changed nothing: the step holds the four that were taken.
  BOOST_TEST(eng->get_run(run.run.id)->steps[0].photos.size() == 4u);
}

BOOST_AUTO_TEST_CASE(results_that_cannot_be_stored_are_kept_and_no_attempt_is_sent_twice) {
  // A backlog of 100 events (the window holds 16), each answered 500 once, then 200. For
  // 5 s every attempt's result fails to store, as on a full disk. The results are kept and
  // written again: each attempt of each event reaches the endpoint exactly once, and the
  // store's health follows.
  constexpr int runs = 50; // two events each
  constexpr auto failing_for = 5s;
  test::temp_dir dir;
  std::mutex m;
  std::map<std::string, int> seen; // event id -> requests so far
  test::scripted_receiver rx{[&](const test::received& r, std::size_t) {
    std::lock_guard lock{m};
    test::reply_plan plan;
    plan.status = seen[r.header("webhook-id")]++ == 0 ? 500 : 200;
    return plan;
  }};
  auto opts = options(dir);
  opts.endpoint_window = 16;
  auto failing_until =
      std::make_shared<std::atomic<std::int64_t>>(std::numeric_limits<std::int64_t>::max());
  opts.faults.fail_result_write = [failing_until](std::string_view) {
    return std::chrono::steady_clock::now().time_since_epoch().count() < failing_until->load();
  };
  auto eng = std::move(*engine::open(opts));
  auto tmpl = *wait<template_record>([&](auto cb) { eng->create_template(checklist(), cb); });
  std::vector<created_run> made;
  for (int i = 0; i < runs; ++i)
    made.push_back(make_run(*eng, tmpl.id, rx.url()));
  failing_until->store((std::chrono::steady_clock::now() + failing_for).time_since_epoch().count());
  for (auto& r : made) {
    BOOST_REQUIRE(wait<run_record>(
        [&](auto cb) { eng->act(r.run.token, run_action::skip, "notes", "", cb); }));
    BOOST_REQUIRE(wait<run_record>(
        [&](auto cb) { eng->act(r.run.token, run_action::answer, "kitchen", "{}", cb); }));
  }
  // While results cannot be stored, the store says so.
  BOOST_TEST(test::eventually([&] { return eng->store_failure().has_value(); }));
  // Every event's two attempts arrive, each once: attempt 1, then attempt 2.
  constexpr std::size_t events = 2 * runs;
  BOOST_REQUIRE(rx.wait_for(2 * events, 60s));
  BOOST_TEST(test::eventually(
      [&] {
        for (auto& r : made)
          for (auto& e : *eng->get_events(r.run.id))
            if (e.delivery.status != delivery_status::delivered)
              return false;
        return true;
      },
      30s));
  BOOST_TEST(!eng->store_failure().has_value());
  std::map<std::string, std::vector<std::int64_t>> attempts;
  for (auto& r : rx.requests())
    attempts[r.header("webhook-id")].push_back(r.json().at("delivery_attempt").as_int64());
  BOOST_TEST(attempts.size() == events);
  for (auto& [id, numbers] : attempts)
    BOOST_TEST((numbers == std::vector<std::int64_t>{1, 2}), id);
  for (auto& r : made)
    for (auto& e : *eng->get_events(r.run.id))
      BOOST_TEST(e.delivery.attempts.size() == 2u, e.id.value);
}
