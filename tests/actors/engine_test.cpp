#include "actors/engine.hpp"

#include "net/signature.hpp"
#include "tests/support/dns_server.hpp"
#include "tests/support/engine_calls.hpp"
#include "tests/support/scripted_receiver.hpp"
#include "tests/support/server_process.hpp"

#define BOOST_TEST_MODULE engine
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

using namespace rundun;
using rundun::test::checklist;
using rundun::test::pending_answer;
using rundun::test::wait;
using namespace std::chrono_literals;

namespace {

engine_options options(const test::temp_dir& dir) {
  return test::engine_options_for(dir.path(), 1s);
}

} // namespace

BOOST_AUTO_TEST_CASE(an_embedded_engine_runs_a_checklist_and_delivers_signed_events) {
  test::temp_dir dir;
  test::scripted_receiver rx;
  auto eng = std::move(*engine::open(options(dir)));
  auto tmpl = wait<template_record>([&](auto cb) { eng->create_template(checklist(), cb); });
  BOOST_REQUIRE(tmpl);
  run_spec spec{tmpl->id, webhook_spec{rx.url(), std::nullopt, std::nullopt}, 1, R"({"k":"v"})"};
  auto created = wait<created_run>([&](auto cb) { eng->create_run(spec, cb); });
  BOOST_REQUIRE(created);
  BOOST_TEST(created->secret_generated);
  auto token = created->run.token;
  auto answered = wait<run_record>(
      [&](auto cb) { eng->act(token, run_action::answer, "kitchen", R"({"value":42})", cb); });
  BOOST_REQUIRE(answered);
  BOOST_TEST((answered->steps[0].status == step_status::completed));
  BOOST_REQUIRE(
      wait<run_record>([&](auto cb) { eng->act(token, run_action::skip, "notes", "", cb); }));
  BOOST_REQUIRE(
      wait<run_record>([&](auto cb) { eng->act(token, run_action::submit, "", "", cb); }));

  BOOST_REQUIRE(rx.wait_for(3, 5s));
  auto got = rx.requests();
  std::vector<std::string> kinds;
  net::webhook_signer signer{*net::parse_secret(created->run.webhook->secret)};
  for (auto& r : got) {
    auto v = r.json().as_object();
    kinds.emplace_back(v.at("event").as_string());
    auto ts = std::stoll(r.header("webhook-timestamp"));
    BOOST_TEST(r.header("webhook-signature") == signer.sign(r.header("webhook-id"), ts, r.body));
    BOOST_TEST((r.header("webhook-id") == std::string(v.at("event_id").as_string())));
    BOOST_TEST((v.at("data").at("metadata").at("k").as_string() == "v"));
  }
  BOOST_TEST(
      (kinds == std::vector<std::string>{"step.completed", "step.skipped", "run.completed"}));

  BOOST_TEST(test::eventually([&] {
    auto events = eng->get_events(created->run.id);
    for (auto& e : *events)
      if (e.delivery.status != delivery_status::delivered)
        return false;
    return events->size() == 3u;
  }));
  auto stored = eng->get_run(created->run.id);
  BOOST_TEST((stored->status == run_status::completed));
}

BOOST_AUTO_TEST_CASE(busy_endpoints_share_one_bounded_set_of_signers) {
  test::temp_dir dir;
  test::scripted_receiver rx;
  auto opts = options(dir);
  opts.signer_cache_capacity = 2;
  auto eng = std::move(*engine::open(opts));
  auto tmpl = *wait<template_record>([&](auto cb) { eng->create_template(checklist(), cb); });
  // Runs with their own secrets over three endpoints that stay busy (none idles out here):
  // more secrets than the engine keeps signers for, each signed with its own.
  constexpr int endpoints = 3, runs = 9;
  std::map<std::string, std::string> secret_of_run;
  for (int i = 0; i < runs; ++i) {
    auto url = rx.url("/hook/" + std::to_string(i % endpoints));
    run_spec spec{tmpl.id, webhook_spec{url, std::nullopt, std::nullopt}, 1, "{}"};
    auto created = wait<created_run>([&](auto cb) { eng->create_run(spec, cb); });
    BOOST_REQUIRE(created);
    secret_of_run[created->run.id.value] = created->run.webhook->secret;
    BOOST_REQUIRE(wait<run_record>(
        [&](auto cb) { eng->act(created->run.token, run_action::exit, "", "", cb); }));
  }
  BOOST_REQUIRE(rx.wait_for(runs, 5s));
  for (auto& r : rx.requests()) {
    auto run = std::string(r.json().as_object().at("run_id").as_string());
    net::webhook_signer signer{*net::parse_secret(secret_of_run.at(run))};
    auto ts = std::stoll(r.header("webhook-timestamp"));
    BOOST_TEST(r.header("webhook-signature") == signer.sign(r.header("webhook-id"), ts, r.body));
  }
  auto f = eng->figures();
  BOOST_TEST(f.endpoint_actors == endpoints);
  BOOST_TEST(f.signers_capacity == 2u);
  BOOST_TEST(f.signers_cached == 2u);
}

BOOST_AUTO_TEST_CASE(refusals_change_nothing) {
  test::temp_dir dir;
  auto eng = std::move(*engine::open(options(dir)));
  auto tmpl = *wait<template_record>([&](auto cb) { eng->create_template(checklist(), cb); });
  auto run = *wait<created_run>([&](auto cb) { eng->create_run({tmpl.id, {}, 1, "{}"}, cb); });
  auto refused = wait<run_record>(
      [&](auto cb) { eng->act(run.run.token, run_action::skip, "kitchen", "", cb); });
  BOOST_REQUIRE(!refused);
  BOOST_TEST(refused.error().code == "step_required");
  auto submit =
      wait<run_record>([&](auto cb) { eng->act(run.run.token, run_action::submit, "", "", cb); });
  BOOST_TEST(submit.error().code == "steps_missing");
  BOOST_TEST(submit.error().steps == std::vector<std::string>{"kitchen"});
  BOOST_TEST(eng->get_events(run.run.id)->empty());
  BOOST_TEST(eng->get_run(run.run.id)->active());
  auto unknown = wait<created_run>([&](auto cb) {
    eng->create_run({{"t-nope"}, {}, 1, "{}"}, cb);
  });
  BOOST_TEST(unknown.error().code == "template_not_found");
}

BOOST_AUTO_TEST_CASE(events_are_recorded_without_a_webhook) {
  test::temp_dir dir;
  auto eng = std::move(*engine::open(options(dir)));
  auto tmpl = *wait<template_record>([&](auto cb) { eng->create_template(checklist(), cb); });
  auto run = *wait<created_run>([&](auto cb) { eng->create_run({tmpl.id, {}, 1, "{}"}, cb); });
  BOOST_REQUIRE(
      wait<run_record>([&](auto cb) { eng->act(run.run.token, run_action::exit, "", "", cb); }));
  auto events = *eng->get_events(run.run.id);
  BOOST_REQUIRE(events.size() == 1u);
  BOOST_TEST((events[0].type == event_type::run_cancelled));
  BOOST_TEST((events[0].delivery.status == delivery_status::not_subscribed));
  auto again = wait<std::monostate>([&](auto cb) { eng->redeliver(events[0].id, cb); });
  BOOST_TEST(again.error().code == "not_subscribed");
}

BOOST_AUTO_TEST_CASE(a_backlog_larger_than_the_window_is_paged_from_lmdb) {
  test::temp_dir dir;
  test::scripted_receiver rx{[](const test::received&, std::size_t) {
    test::reply_plan p;
    p.delay = 5ms;
    return p;
  }};
  auto opts = options(dir);
  opts.endpoint_concurrency = 2;
  opts.endpoint_window = 4; // far fewer than the events below
  auto eng = std::move(*engine::open(opts));
  template_spec spec{"many", {}};
  for (int i = 0; i < 10; ++i)
    spec.steps.push_back({"s" + std::to_string(i), "Step", false, std::nullopt});
  auto tmpl = *wait<template_record>([&](auto cb) { eng->create_template(spec, cb); });
  constexpr int runs = 4;
  std::vector<run_id> ids;
  for (int r = 0; r < runs; ++r) {
    auto run = *wait<created_run>([&](auto cb) {
      eng->create_run({tmpl.id, webhook_spec{rx.url(), std::nullopt, std::nullopt}, 1, "{}"}, cb);
    });
    ids.push_back(run.run.id);
    for (int i = 0; i < 10; ++i)
      BOOST_REQUIRE(wait<run_record>([&](auto cb) {
        eng->act(run.run.token, run_action::skip, "s" + std::to_string(i), "", cb);
      }));
  }
  BOOST_REQUIRE(rx.wait_for(runs * 10, 20s));
  // Every event once, and each run's events in creation order.
  auto got = rx.requests();
  std::map<std::string, std::vector<std::string>> by_run;
  std::set<std::string> unique;
  for (auto& r : got) {
    auto body = r.json().as_object();
    by_run[std::string(body.at("run_id").as_string())].emplace_back(
        body.at("event_id").as_string());
    unique.insert(std::string(body.at("event_id").as_string()));
  }
  BOOST_TEST(unique.size() == std::size_t{runs * 10});
  // And none twice: a page-in from disk and the event's own delivery order must not both
  // send it (they race when the endpoint starts with a backlog).
  BOOST_TEST(got.size() == unique.size());
  for (auto& id : ids) {
    auto events = *eng->get_events(id);
    std::vector<std::string> created;
    for (auto& e : events)
      created.push_back(e.id.value);
    BOOST_TEST(by_run[id.value] == created);
  }
}

BOOST_AUTO_TEST_CASE(a_failing_endpoints_backlog_is_not_held_back_by_its_window) {
  // A backlog on disk, paged in after a restart, to an endpoint whose every attempt fails
  // with the retry an hour away. The window holds 4 jobs. Retries that far off leave the
  // window (they are on disk with their new due time), so that the backlog's first
  // attempts page in behind them; each event is attempted once, none twice. (How fast:
  // `load_bench backlog`, not here.)
  test::temp_dir dir;
  auto opts = options(dir);
  opts.retry = *net::parse_retry_schedule("1h");
  opts.endpoint_window = 4;
  opts.delivery_timeout = 300ms;
  test::scripted_receiver down{[](const test::received&, std::size_t) {
    test::reply_plan p;
    p.hang = true;
    return p;
  }};
  {
    // The first four attempts hang (and then time out); the other 36 events wait on disk.
    auto eng = std::move(*engine::open(opts));
    template_spec spec{"many", {}};
    for (int i = 0; i < 10; ++i)
      spec.steps.push_back({"s" + std::to_string(i), "Step", false, std::nullopt});
    auto tmpl = *wait<template_record>([&](auto cb) { eng->create_template(spec, cb); });
    for (int r = 0; r < 4; ++r) {
      auto run = *wait<created_run>([&](auto cb) {
        eng->create_run({tmpl.id, webhook_spec{down.url(), std::nullopt, std::nullopt}, 1, "{}"},
                        cb);
      });
      for (int i = 0; i < 10; ++i)
        BOOST_REQUIRE(wait<run_record>([&](auto cb) {
          eng->act(run.run.token, run_action::skip, "s" + std::to_string(i), "", cb);
        }));
    }
    BOOST_REQUIRE(down.wait_for(4, 5s));
  }
  // Same endpoint, now answering 500 at once.
  down.set_script([](const test::received&, std::size_t) {
    test::reply_plan p;
    p.status = 500;
    return p;
  });
  auto before = down.requests().size();
  auto eng = std::move(*engine::open(opts));
  BOOST_TEST(down.wait_for(before + 36, 15s),
             "first attempts made: " << down.requests().size() - before << " of 36");
  std::set<std::string> unique;
  for (auto& r : down.requests())
    unique.insert(r.header("webhook-id"));
  BOOST_TEST(unique.size() == down.requests().size()); // each event once: no retry is due
}

BOOST_AUTO_TEST_CASE(run_actors_come_with_commands_and_leave_when_done_or_idle) {
  test::temp_dir dir;
  std::vector<std::string> tokens;
  {
    // An idle timeout far longer than the test: only ended runs' actors leave here.
    auto opts = options(dir);
    opts.run_idle_timeout = 1h;
    auto eng = std::move(*engine::open(opts));
    auto tmpl = *wait<template_record>([&](auto cb) { eng->create_template(checklist(), cb); });
    for (int i = 0; i < 5; ++i)
      tokens.push_back(wait<created_run>([&](auto cb) {
                         eng->create_run({tmpl.id, {}, 1, "{}"}, cb);
                       })->run.token);
    BOOST_TEST(eng->figures().run_actors == 0); // open runs without actors
    for (auto& t : tokens)
      BOOST_REQUIRE(
          wait<run_record>([&](auto cb) { eng->act(t, run_action::skip, "notes", "", cb); }));
    BOOST_TEST(eng->figures().run_actors == 5);
    BOOST_TEST(eng->figures().active_runs == 5u);
    BOOST_REQUIRE(
        wait<run_record>([&](auto cb) { eng->act(tokens[0], run_action::exit, "", "", cb); }));
    BOOST_TEST(test::eventually([&] { return eng->figures().run_actors == 4; }));
    BOOST_TEST(eng->figures().active_runs == 4u);
  }
  // Idle actors leave; the next command brings one back, with the state from the store.
  auto opts = options(dir);
  opts.run_idle_timeout = 300ms;
  auto eng = std::move(*engine::open(opts));
  BOOST_REQUIRE(
      wait<run_record>([&](auto cb) { eng->act(tokens[2], run_action::exit, "", "", cb); }));
  BOOST_REQUIRE(
      wait<run_record>([&](auto cb) { eng->act(tokens[3], run_action::skip, "kitchen", "", cb); })
          .error()
          .code == "step_required");
  BOOST_TEST(test::eventually([&] { return eng->figures().run_actors == 0; }, 10s));
  auto again = wait<run_record>(
      [&](auto cb) { eng->act(tokens[1], run_action::answer, "kitchen", "{}", cb); });
  BOOST_REQUIRE(again);
  BOOST_TEST((again->steps[1].status == step_status::skipped));
  BOOST_TEST((again->steps[0].status == step_status::completed));
}

BOOST_AUTO_TEST_CASE(runs_without_actors_still_expire_on_time) {
  test::temp_dir dir;
  auto eng = std::move(*engine::open(options(dir)));
  auto tmpl = *wait<template_record>([&](auto cb) { eng->create_template(checklist(), cb); });
  auto run = *wait<created_run>([&](auto cb) {
    eng->create_run({tmpl.id, {}, 0.5 / 3600, "{}"}, cb);
  });
  BOOST_TEST(eng->figures().run_actors == 0);
  BOOST_TEST(test::eventually(
      [&] { return eng->get_run(run.run.id)->status == run_status::expired; }, 3s));
  auto stored = *eng->get_run(run.run.id);
  BOOST_TEST((stored.ended_at == stored.expires_at));
  BOOST_TEST(eng->get_events(run.run.id)->size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_full_store_refuses_clearly_and_keeps_serving_reads) {
  test::temp_dir dir;
  auto opts = options(dir);
  opts.map_size = 512 * 1024;
  auto eng = std::move(*engine::open(opts));
  template_spec big{"big", {}};
  for (int i = 0; i < 200; ++i)
    big.steps.push_back({std::nullopt, std::string(190, 'x'), std::nullopt, std::nullopt});
  std::optional<template_record> first;
  domain_error refusal;
  for (int i = 0; i < 100; ++i) {
    auto r = wait<template_record>([&](auto cb) { eng->create_template(big, cb); });
    if (!r) {
      refusal = r.error();
      break;
    }
    if (!first)
      first = *r;
  }
  BOOST_REQUIRE(first);
  BOOST_TEST(refusal.code == "storage_error");
  BOOST_TEST((refusal.kind == error_kind::storage));
  BOOST_TEST(refusal.message.find("map is full") != std::string::npos, refusal.message);
  BOOST_TEST(eng->get_template(first->id).has_value());
}

BOOST_AUTO_TEST_CASE(webhook_host_names_are_looked_up_on_the_configured_name_servers) {
  test::temp_dir dir;
  test::dns_server dns;
  dns.add("hooks.test", "127.0.0.1");
  test::scripted_receiver rx;
  auto opts = options(dir);
  opts.dns_servers = dns.address();
  auto eng = std::move(*engine::open(opts));
  auto tmpl = *wait<template_record>([&](auto cb) { eng->create_template(checklist(), cb); });
  run_spec spec{tmpl.id, webhook_spec{rx.url("/hook", "hooks.test"), std::nullopt, std::nullopt}, 1,
                "{}"};
  auto created = wait<created_run>([&](auto cb) { eng->create_run(spec, cb); });
  BOOST_REQUIRE(created);
  BOOST_REQUIRE(wait<run_record>([&](auto cb) {
    eng->act(created->run.token, run_action::answer, "kitchen", R"({"value":1})", cb);
  }));
  BOOST_TEST(rx.wait_for(1, 5s));
  BOOST_TEST(dns.a_queries("hooks.test") >= 1u);
}

BOOST_AUTO_TEST_CASE(a_malformed_name_server_list_is_refused_at_open) {
  test::temp_dir dir;
  auto opts = options(dir);
  opts.dns_servers = "not a server";
  auto eng = engine::open(opts);
  BOOST_REQUIRE(!eng);
  BOOST_TEST(eng.error().code == "invalid_dns_servers");
  BOOST_TEST(eng.error().message ==
             "cannot use the DNS servers not a server: name servers must be a comma-separated "
             "list of ip:port");
}

BOOST_AUTO_TEST_CASE(an_embedded_engine_tells_its_observer_of_failing_disabled_and_recovered) {
  test::temp_dir dir;
  std::atomic<bool> fixed{false};
  test::scripted_receiver rx{[&](const test::received&, std::size_t) {
    test::reply_plan plan;
    plan.status = fixed ? 204 : 500;
    return plan;
  }};
  auto opts = options(dir);
  opts.endpoint_disable_after = 500ms;
  std::mutex mtx;
  std::vector<operator_notice> seen;
  std::set<std::thread::id> threads;
  opts.on_notice = [&](const operator_notice& n) {
    std::lock_guard lock(mtx);
    seen.push_back(n);
    threads.insert(std::this_thread::get_id());
  };
  auto count = [&] {
    std::lock_guard lock(mtx);
    return seen.size();
  };
  auto eng = std::move(*engine::open(opts));
  auto tmpl = wait<template_record>([&](auto cb) { eng->create_template(checklist(), cb); });
  auto event_to_rx = [&] {
    run_spec spec{tmpl->id, webhook_spec{rx.url(), std::nullopt, std::nullopt}, 1, "{}"};
    auto created = wait<created_run>([&](auto cb) { eng->create_run(spec, cb); });
    BOOST_REQUIRE(created);
    BOOST_REQUIRE(wait<run_record>(
        [&](auto cb) { eng->act(created->run.token, run_action::skip, "notes", "", cb); }));
  };
  // Its three attempts fail: failing.
  event_to_rx();
  BOOST_REQUIRE(test::eventually([&] { return count() == 1; }));
  // The test moves the engine's clock past the half second: the next failed attempt
  // disables it.
  struct clock_back {
    ~clock_back() { set_clock_offset(0ms); }
  } restore;
  set_clock_offset(1s);
  event_to_rx();
  BOOST_REQUIRE(test::eventually([&] { return count() == 2; }));
  fixed = true;
  BOOST_REQUIRE(
      wait<recovery_started>([&](auto cb) { eng->recover(rx.url(), from_unix_ms(0), cb); }));
  BOOST_REQUIRE(test::eventually([&] { return count() == 3; }));
  std::lock_guard lock(mtx);
  BOOST_TEST((seen[0].type == notice_type::failing));
  BOOST_TEST((seen[1].type == notice_type::disabled));
  BOOST_TEST((seen[2].type == notice_type::recovered));
  for (auto& n : seen) {
    BOOST_TEST(n.url == rx.url());
    BOOST_TEST(n.id.starts_with("evt-"));
    BOOST_TEST(boost::json::parse(n.data_json).at("url").as_string() == rx.url());
  }
  BOOST_TEST(!threads.count(std::this_thread::get_id())); // on an engine thread
}
