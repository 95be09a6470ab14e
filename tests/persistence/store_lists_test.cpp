#include "persistence/store.hpp"

#include "tests/support/server_process.hpp"

#define BOOST_TEST_MODULE store_lists
#include <boost/test/unit_test.hpp>

#include <set>

using namespace rundun;
using namespace rundun::persistence;

namespace {

run_record run_at(const std::string& id, std::int64_t created_ms, const std::string& tmpl = "t-1") {
  run_record r;
  r.id = {id};
  r.source_template = {tmpl};
  r.token = "token-" + id;
  r.created_at = from_unix_ms(created_ms);
  r.expires_at = from_unix_ms(created_ms + 100'000);
  return r;
}

event_record event_at(const std::string& id, const std::string& run, std::uint64_t seq,
                      std::int64_t created_ms, const std::string& endpoint = "ep1",
                      event_type type = event_type::step_completed) {
  event_record e;
  e.id = {id};
  e.run = {run};
  e.type = type;
  e.created_at = from_unix_ms(created_ms);
  e.seq = seq;
  e.endpoint = endpoint;
  e.delivery.next_attempt_at = from_unix_ms(created_ms);
  return e;
}

attempt_record attempt(int n, std::int64_t at_ms, std::optional<int> status) {
  attempt_record a;
  a.attempt = n;
  a.at = from_unix_ms(at_ms);
  a.status_code = status;
  if (!status)
    a.error = "connection refused";
  a.duration_ms = 3;
  return a;
}

struct fixture {
  test::temp_dir dir;
  std::unique_ptr<store> s = std::move(*store::open(dir.path()));

  void write(const store::write_fn& f) { BOOST_REQUIRE(!s->write_sync(f)); }

  /// Every id of a list, page by page; `between` runs after the first page.
  template <class List>
  std::vector<std::string> page_through(List list, std::size_t limit,
                                        const std::function<void()>& between = {}) {
    std::vector<std::string> ids;
    list_request r;
    r.limit = limit;
    for (int pages = 0; pages < 1000; ++pages) {
      auto page = list(r);
      BOOST_REQUIRE(page);
      BOOST_TEST(page->items.size() <= limit);
      for (auto& item : page->items)
        ids.push_back(item.id.value);
      if (!page->next)
        return ids;
      r.after = page->next;
      if (pages == 0 && between)
        between();
    }
    BOOST_FAIL("the list did not end");
    return ids;
  }
};

} // namespace

BOOST_FIXTURE_TEST_CASE(runs_are_listed_newest_first_and_a_later_run_never_shifts_a_page, fixture) {
  write([](write_batch& b) -> boost::system::error_code {
    for (int i = 0; i < 7; ++i)
      if (auto ec = b.put_run(run_at("r-" + std::to_string(i), 1000 + i * 10)))
        return ec;
    // Two runs in the same millisecond: the larger id comes first.
    return b.put_run(run_at("r-x", 1030));
  });
  auto ids = page_through([&](const list_request& r) { return s->list_runs({}, r); }, 3,
                          [&] {
                            // Made while paging: newer than every position, so it is on no later
                            // page.
                            write([](write_batch& b) { return b.put_run(run_at("r-new", 5000)); });
                          });
  BOOST_TEST(ids ==
                 (std::vector<std::string>{"r-6", "r-5", "r-4", "r-x", "r-3", "r-2", "r-1", "r-0"}),
             boost::test_tools::per_element());
  // The first page of a new listing has it.
  BOOST_TEST(s->list_runs({}, {})->items.front().id.value == "r-new");
  // An exact page: the last page holds the limit and has no next.
  list_request r;
  r.limit = 9;
  BOOST_TEST(!s->list_runs({}, r)->next);
  r.limit = 8;
  BOOST_TEST(s->list_runs({}, r)->next.has_value());
}

BOOST_FIXTURE_TEST_CASE(runs_are_filtered_by_status_template_and_creation_time, fixture) {
  write([](write_batch& b) -> boost::system::error_code {
    for (int i = 0; i < 6; ++i)
      if (auto ec =
              b.put_run(run_at("r-" + std::to_string(i), 1000 + i * 10, i % 2 ? "t-b" : "t-a")))
        return ec;
    return {};
  });
  auto ended = run_at("r-2", 1020, "t-a");
  ended.status = run_status::cancelled;
  ended.ended_at = from_unix_ms(3000);
  write([&](write_batch& b) { return b.put_run(ended); });
  auto ids = [&](const run_filter& f) {
    std::vector<std::string> out;
    auto page = s->list_runs(f, {});
    BOOST_REQUIRE(page);
    for (auto& r : page->items)
      out.push_back(r.id.value);
    return out;
  };
  using v = std::vector<std::string>;
  BOOST_TEST(ids({run_status::cancelled, {}, {}, {}}) == v{"r-2"},
             boost::test_tools::per_element());
  BOOST_TEST(ids({run_status::active, {}, {}, {}}) == (v{"r-5", "r-4", "r-3", "r-1", "r-0"}),
             boost::test_tools::per_element());
  BOOST_TEST(ids({{}, template_id{"t-a"}, {}, {}}) == (v{"r-4", "r-2", "r-0"}),
             boost::test_tools::per_element());
  BOOST_TEST(ids({run_status::active, template_id{"t-a"}, {}, {}}) == (v{"r-4", "r-0"}),
             boost::test_tools::per_element());
  // Strictly after and strictly before, to the millisecond.
  BOOST_TEST(ids({{}, {}, from_unix_ms(1010), from_unix_ms(1040)}) == (v{"r-3", "r-2"}),
             boost::test_tools::per_element());
  BOOST_TEST(ids({run_status::expired, {}, {}, {}}).empty());
}

BOOST_FIXTURE_TEST_CASE(events_are_filtered_and_a_status_change_moves_an_event, fixture) {
  write([](write_batch& b) -> boost::system::error_code {
    if (auto ec = b.put_run(run_at("r-1", 900)))
      return ec;
    if (auto ec = b.put_run(run_at("r-2", 900)))
      return ec;
    for (std::uint64_t i = 1; i <= 4; ++i)
      if (auto ec = b.put_event(event_at("evt-" + std::to_string(i), "r-1", i, 1000 + i), "{}",
                                "http://a/"))
        return ec;
    if (auto ec = b.put_event(event_at("evt-5", "r-2", 5, 1005, "ep2", event_type::run_completed),
                              "{}", "http://b/"))
      return ec;
    auto quiet = event_at("evt-6", "r-2", 6, 1006, "");
    quiet.delivery.status = delivery_status::not_subscribed;
    quiet.delivery.next_attempt_at.reset();
    return b.put_event(quiet, "{}", "");
  });
  write([](write_batch& b) {
    return b.update_event({"evt-2"}, [](event_record& e) {
      e.delivery.status = delivery_status::failed;
      e.delivery.next_attempt_at.reset();
    });
  });
  auto ids = [&](const event_filter& f) {
    std::vector<std::string> out;
    auto page = s->list_events(f, {});
    BOOST_REQUIRE(page);
    for (auto& e : page->items)
      out.push_back(e.id.value);
    return out;
  };
  using v = std::vector<std::string>;
  BOOST_TEST(ids({}) == (v{"evt-6", "evt-5", "evt-4", "evt-3", "evt-2", "evt-1"}),
             boost::test_tools::per_element());
  event_filter failed;
  failed.status = delivery_status::failed;
  BOOST_TEST(ids(failed) == v{"evt-2"}, boost::test_tools::per_element());
  event_filter pending_a;
  pending_a.status = delivery_status::pending;
  pending_a.endpoint = "ep1";
  BOOST_TEST(ids(pending_a) == (v{"evt-4", "evt-3", "evt-1"}), boost::test_tools::per_element());
  event_filter of_b;
  of_b.endpoint = "ep2";
  BOOST_TEST(ids(of_b) == v{"evt-5"}, boost::test_tools::per_element());
  event_filter completed;
  completed.type = event_type::run_completed;
  BOOST_TEST(ids(completed) == v{"evt-5"}, boost::test_tools::per_element());
  event_filter quiet;
  quiet.status = delivery_status::not_subscribed;
  BOOST_TEST(ids(quiet) == v{"evt-6"}, boost::test_tools::per_element());
  event_filter of_run;
  of_run.run = run_id{"r-1"};
  of_run.created_before = from_unix_ms(1004);
  BOOST_TEST(ids(of_run) == (v{"evt-3", "evt-2", "evt-1"}), boost::test_tools::per_element());
  // A run's events page like the others.
  list_request r;
  r.limit = 2;
  auto first = s->list_events(of_run, r);
  BOOST_REQUIRE(first->next);
  r.after = first->next;
  auto second = s->list_events(of_run, r);
  BOOST_TEST(second->items.size() == 1u);
  BOOST_TEST(second->items[0].id.value == "evt-1");
  BOOST_TEST(!second->next);
}

BOOST_FIXTURE_TEST_CASE(a_rare_match_ends_a_page_early_with_a_position_to_go_on_from, fixture) {
  write([](write_batch& b) -> boost::system::error_code {
    if (auto ec = b.put_run(run_at("r-1", 900)))
      return ec;
    for (std::uint64_t i = 1; i <= 50; ++i) {
      auto type = i % 10 == 0 ? event_type::run_expired : event_type::step_completed;
      if (auto ec = b.put_event(
              event_at("evt-" + std::to_string(100 + i), "r-1", i, 1000 + i, "ep1", type), "{}",
              "http://a/"))
        return ec;
    }
    return {};
  });
  event_filter f;
  f.type = event_type::run_expired;
  std::vector<std::string> ids;
  list_request r;
  r.budget = 7; // fewer than the events between two matches
  int pages = 0;
  for (;; ++pages) {
    auto page = s->list_events(f, r);
    BOOST_REQUIRE(page);
    for (auto& e : page->items)
      ids.push_back(e.id.value);
    if (!page->next)
      break;
    r.after = page->next;
  }
  BOOST_TEST(pages > 5);
  BOOST_TEST(ids ==
                 (std::vector<std::string>{"evt-150", "evt-140", "evt-130", "evt-120", "evt-110"}),
             boost::test_tools::per_element());
}

BOOST_FIXTURE_TEST_CASE(an_endpoints_figures_follow_its_events_attempts_and_removal, fixture) {
  write([](write_batch& b) -> boost::system::error_code {
    if (auto ec = b.put_run(run_at("r-1", 900)))
      return ec;
    for (std::uint64_t i = 1; i <= 3; ++i)
      if (auto ec = b.put_event(event_at("evt-" + std::to_string(i), "r-1", i, 1000 + i), "{}",
                                "http://a/"))
        return ec;
    return {};
  });
  auto health = [&] {
    auto h = s->endpoint("ep1");
    BOOST_REQUIRE(h);
    BOOST_REQUIRE(h->has_value());
    return **h;
  };
  BOOST_TEST(health().stats.pending == 3u);
  BOOST_TEST(health().url == "http://a/");
  BOOST_TEST(!health().stats.failing_since);
  BOOST_TEST(to_unix_ms(*health().next_attempt_at) == 1001);
  auto record = [&](const std::string& id, attempt_record a, delivery_status to) {
    write([&](write_batch& b) {
      return b.update_event({id}, [&](event_record& e) {
        e.delivery.attempts.push_back(a);
        e.delivery.status = to;
        if (to != delivery_status::pending)
          e.delivery.next_attempt_at.reset();
        else
          e.delivery.next_attempt_at = from_unix_ms(9000);
      });
    });
  };
  record("evt-1", attempt(1, 2000, 500), delivery_status::pending);
  record("evt-2", attempt(1, 2100, std::nullopt), delivery_status::failed);
  auto h = health();
  BOOST_TEST(h.stats.pending == 2u);
  BOOST_TEST(h.stats.failed == 1u);
  BOOST_TEST(to_unix_ms(*h.stats.failing_since) == 2000);
  BOOST_TEST(to_unix_ms(h.stats.last_attempt->at) == 2100);
  BOOST_TEST(*h.stats.last_attempt->error == "connection refused");
  record("evt-3", attempt(1, 2200, 204), delivery_status::delivered);
  h = health();
  BOOST_TEST(h.stats.delivered == 1u);
  BOOST_TEST(!h.stats.failing_since); // a 2xx clears it
  BOOST_TEST(*h.stats.last_attempt->status_code == 204);
  // A recovery sends the failed event again: pending, marked, counted until its attempt.
  bool marked = false;
  write([&](write_batch& b) { return b.recover_event({"evt-2"}, from_unix_ms(3000), marked); });
  BOOST_TEST(marked);
  h = health();
  BOOST_TEST(h.stats.failed == 0u);
  BOOST_TEST(h.stats.pending == 2u);
  BOOST_TEST(h.stats.recovering == 1u);
  BOOST_TEST(*s->recovering("ep1", 2));
  bool again = true;
  write([&](write_batch& b) { return b.recover_event({"evt-2"}, from_unix_ms(3000), again); });
  BOOST_TEST(!again); // no longer failed
  record("evt-2", attempt(2, 3100, 200), delivery_status::delivered);
  h = health();
  BOOST_TEST(h.stats.recovering == 0u);
  BOOST_TEST(h.stats.delivered == 2u);
  BOOST_TEST(!*s->recovering("ep1", 2));
  // A marked event that fails without an attempt (its run's webhook answered 410
  // meanwhile) leaves no mark behind either.
  record("evt-2", attempt(3, 3150, 500), delivery_status::failed);
  write([&](write_batch& b) { return b.recover_event({"evt-2"}, from_unix_ms(3300), marked); });
  BOOST_TEST(health().stats.recovering == 1u);
  write([&](write_batch& b) {
    return b.update_event({"evt-2"}, [](event_record& e) {
      e.delivery.status = delivery_status::failed;
      e.delivery.next_attempt_at.reset();
      e.delivery.error = "endpoint_gone";
    });
  });
  BOOST_TEST(health().stats.recovering == 0u);
  BOOST_TEST(!*s->recovering("ep1", 2));
  // Retention removes an ended run's events, and their counts with them.
  record("evt-1", attempt(2, 3200, 200), delivery_status::delivered);
  auto ended = run_at("r-1", 900);
  ended.status = run_status::completed;
  ended.ended_at = from_unix_ms(4000);
  write([&](write_batch& b) { return b.put_run(ended); });
  run_removal removal;
  write([&](write_batch& b) { return b.remove_run({"r-1"}, removal); });
  BOOST_TEST(removal.removed);
  h = health();
  BOOST_TEST(h.stats.delivered == 0u);
  BOOST_TEST(h.stats.pending == 0u);
  BOOST_TEST(s->list_events({}, {})->items.empty());
  BOOST_TEST(s->list_runs({}, {})->items.empty());
}

BOOST_FIXTURE_TEST_CASE(failed_events_are_walked_oldest_first_from_a_time_and_a_position, fixture) {
  write([](write_batch& b) -> boost::system::error_code {
    if (auto ec = b.put_run(run_at("r-1", 900)))
      return ec;
    for (std::uint64_t i = 1; i <= 6; ++i) {
      auto e = event_at("evt-" + std::to_string(i), "r-1", i, 1000 + i);
      e.delivery.status = i == 4 ? delivery_status::delivered : delivery_status::failed;
      e.delivery.next_attempt_at.reset();
      if (auto ec = b.put_event(e, "{}", "http://a/"))
        return ec;
    }
    return {};
  });
  auto first = s->failed_events("ep1", 1002, std::nullopt, 2);
  BOOST_REQUIRE(first);
  BOOST_REQUIRE(first->size() == 2u);
  BOOST_TEST((*first)[0].second.id.value == "evt-2");
  BOOST_TEST((*first)[1].second.id.value == "evt-3");
  auto rest = s->failed_events("ep1", 1002, first->back().first, 10);
  BOOST_REQUIRE(rest->size() == 2u);
  BOOST_TEST((*rest)[0].second.id.value == "evt-5");
  BOOST_TEST((*rest)[1].second.id.value == "evt-6");
  BOOST_TEST(s->failed_events("ep2", 0, std::nullopt, 10)->empty());
  // A recovery job is kept until it is ended.
  recovery_job job{1002, first->back().first, 2};
  write([&](write_batch& b) { return b.put_recovery_job("ep1", job); });
  BOOST_TEST((*s->recovery("ep1"))->marked_up_to->id == "evt-3");
  BOOST_TEST(*s->endpoints_recovering() == std::vector<std::string>{"ep1"},
             boost::test_tools::per_element());
  BOOST_TEST((*s->endpoint("ep1"))->recovery_remaining == 2u);
  write([&](write_batch& b) { return b.put_recovery_job("ep1", std::nullopt); });
  BOOST_TEST(!s->recovery("ep1")->has_value());
}
