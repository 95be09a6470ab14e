#include "actors/engine.hpp"

#include "tests/support/engine_calls.hpp"
#include "tests/support/server_process.hpp"

#define BOOST_TEST_MODULE engine_idempotency
#include <boost/test/unit_test.hpp>

#include <future>
#include <set>
#include <thread>

using namespace rundun;
using rundun::test::checklist;
using rundun::test::wait;
using namespace std::chrono_literals;

namespace {

using keyed_run = keyed_answer<created_run>;

engine_options options(const test::temp_dir& dir) {
  return test::engine_options_for(dir.path(), 1s);
}

/// A run without a webhook secret, so that the engine generates one.
run_spec a_run(const template_id& t, std::string metadata = "{}") {
  return {t, webhook_spec{"http://127.0.0.1:9/h", std::nullopt, std::nullopt}, 1,
          std::move(metadata)};
}

template_id a_template(engine& eng) {
  auto t = wait<template_record>([&](auto cb) { eng.create_template(checklist(), cb); });
  BOOST_REQUIRE(t);
  return t->id;
}

outcome<keyed_run> create(engine& eng, const run_spec& spec, const std::string& key) {
  return wait<keyed_run>([&](auto cb) { eng.create_run(spec, idempotency_key{key, {}}, cb); });
}

std::size_t run_count(engine& eng) {
  auto page = eng.list_runs({}, {});
  BOOST_REQUIRE(page);
  return page->items.size();
}

/// Puts the product's clock back when a test moved it.
struct clock_guard {
  ~clock_guard() { set_clock_offset(0ms); }
};

} // namespace

BOOST_AUTO_TEST_CASE(the_same_key_and_spec_get_the_first_run_again_and_create_nothing) {
  test::temp_dir dir;
  auto eng = std::move(*engine::open(options(dir)));
  auto t = a_template(*eng);
  auto first = create(*eng, a_run(t), "order-1");
  BOOST_REQUIRE(first);
  BOOST_TEST(!first->replayed);
  BOOST_TEST(first->created.secret_generated);
  // The run changes; the replay is still the first answer, generated secret included.
  BOOST_REQUIRE(wait<run_record>([&](auto cb) { eng->cancel(first->created.run.id, cb); }));
  auto again = create(*eng, a_run(t), "order-1");
  BOOST_REQUIRE(again);
  BOOST_TEST(again->replayed);
  BOOST_TEST(again->created.run.id.value == first->created.run.id.value);
  BOOST_TEST((again->created.run.status == run_status::active));
  BOOST_TEST(again->created.secret_generated);
  BOOST_TEST(again->created.run.webhook->secret == first->created.run.webhook->secret);
  BOOST_TEST(run_count(*eng) == 1u);
  BOOST_TEST(eng->figures().idempotency_replays == 1u);

  auto other = create(*eng, a_run(t, R"({"another":"body"})"), "order-1");
  BOOST_REQUIRE(!other);
  BOOST_TEST(other.error().code == "idempotency_key_reused");
  auto on_templates = wait<keyed_answer<template_record>>([&](auto cb) {
    eng->create_template(checklist(), idempotency_key{"order-1", {}}, cb);
  });
  BOOST_REQUIRE(!on_templates);
  BOOST_TEST(on_templates.error().code == "idempotency_key_reused");
  BOOST_TEST(run_count(*eng) == 1u);
}

BOOST_AUTO_TEST_CASE(a_template_key_replays_the_template) {
  test::temp_dir dir;
  auto eng = std::move(*engine::open(options(dir)));
  auto make = [&] {
    return wait<keyed_answer<template_record>>([&](auto cb) {
      eng->create_template(checklist(), idempotency_key{"tmpl-1", {}}, cb);
    });
  };
  auto first = make();
  auto again = make();
  BOOST_REQUIRE(first);
  BOOST_REQUIRE(again);
  BOOST_TEST(!first->replayed);
  BOOST_TEST(again->replayed);
  BOOST_TEST(again->created.id.value == first->created.id.value);
  BOOST_TEST(again->created.steps.size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_refused_request_does_not_use_up_its_key) {
  test::temp_dir dir;
  auto eng = std::move(*engine::open(options(dir)));
  auto t = a_template(*eng);
  auto refused = create(*eng, a_run(template_id{"t-00000000-0000-4000-8000-000000000000"}), "k");
  BOOST_REQUIRE(!refused);
  BOOST_TEST(refused.error().code == "template_not_found");
  auto bad = a_run(t);
  bad.expires_in_hours = -1;
  BOOST_TEST(create(*eng, bad, "k").error().code == "invalid_field");
  auto made = create(*eng, a_run(t), "k");
  BOOST_REQUIRE(made);
  BOOST_TEST(!made->replayed);
  BOOST_TEST(create(*eng, a_run(t), "").error().code == "invalid_idempotency_key");
  BOOST_TEST(eng->figures().idempotency_keys_in_progress == 0u);
}

BOOST_AUTO_TEST_CASE(a_second_request_while_the_first_is_handled_is_in_progress) {
  test::temp_dir dir;
  auto opts = options(dir);
  // The first creation's answer is held on the writer, after its commit, until released.
  std::promise<void> release;
  auto released = release.get_future().share();
  std::promise<void> committed;
  opts.faults.drop_keyed_answer = [&, released](std::string_view) {
    committed.set_value();
    released.wait();
    return false;
  };
  auto eng = std::move(*engine::open(opts));
  auto t = a_template(*eng);
  test::pending_answer<keyed_run> first([&](auto cb) {
    eng->create_run(a_run(t), idempotency_key{"busy", {}}, cb);
  });
  BOOST_REQUIRE((committed.get_future().wait_for(30s) == std::future_status::ready));
  auto second = create(*eng, a_run(t), "busy");
  BOOST_REQUIRE(!second);
  BOOST_TEST(second.error().code == "idempotency_key_in_progress");
  BOOST_TEST((second.error().kind == error_kind::conflict));
  BOOST_TEST(eng->figures().idempotency_keys_in_progress == 1u);
  release.set_value();
  auto answered = first.get();
  BOOST_REQUIRE(answered);
  BOOST_TEST(!answered->replayed);
  auto third = create(*eng, a_run(t), "busy");
  BOOST_REQUIRE(third);
  BOOST_TEST(third->replayed);
  BOOST_TEST(third->created.run.id.value == answered->created.run.id.value);
  BOOST_TEST(run_count(*eng) == 1u);
}

BOOST_AUTO_TEST_CASE(concurrent_requests_with_one_key_create_exactly_one_run) {
  test::temp_dir dir;
  auto eng = std::move(*engine::open(options(dir)));
  auto t = a_template(*eng);
  constexpr int callers = 16;
  std::vector<std::future<outcome<keyed_run>>> answers;
  std::promise<void> go;
  auto start = go.get_future().share();
  for (int i = 0; i < callers; ++i)
    answers.push_back(std::async(std::launch::async, [&, start] {
      start.wait();
      return create(*eng, a_run(t), "race");
    }));
  go.set_value();
  int made = 0, replayed = 0, in_progress = 0;
  std::set<std::string> ids;
  for (auto& a : answers) {
    auto r = a.get();
    if (r) {
      (r->replayed ? replayed : made) += 1;
      ids.insert(r->created.run.id.value);
    } else {
      BOOST_TEST(r.error().code == "idempotency_key_in_progress");
      ++in_progress;
    }
  }
  BOOST_TEST(made == 1);
  BOOST_TEST(ids.size() == 1u);
  BOOST_TEST(made + replayed + in_progress == callers);
  BOOST_TEST(run_count(*eng) == 1u);
}

BOOST_AUTO_TEST_CASE(keys_survive_a_restart_and_expire_after_24_hours) {
  test::temp_dir dir;
  clock_guard restore;
  std::string first_id;
  template_id t;
  {
    auto eng = std::move(*engine::open(options(dir)));
    t = a_template(*eng);
    auto first = create(*eng, a_run(t), "kept");
    BOOST_REQUIRE(first);
    first_id = first->created.run.id.value;
  }
  auto opts = options(dir);
  opts.retention = 1s; // checks every 100 ms, for the keys' expiry too
  auto eng = std::move(*engine::open(opts));
  auto again = create(*eng, a_run(t), "kept");
  BOOST_REQUIRE(again);
  BOOST_TEST(again->replayed);
  BOOST_TEST(again->created.run.id.value == first_id);

  // A day later the key is free: retention removes it, and the same request makes a new run.
  set_clock_offset(24h + 1min);
  BOOST_TEST(test::eventually([&] { return eng->figures().idempotency_keys_expired == 1u; }));
  auto later = create(*eng, a_run(t), "kept");
  BOOST_REQUIRE(later);
  BOOST_TEST(!later->replayed);
  BOOST_TEST(later->created.run.id.value != first_id);
}
