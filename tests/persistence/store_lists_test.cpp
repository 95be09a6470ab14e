#include "persistence/store.hpp"

#include "persistence/endpoint_index.hpp"
#include "tests/support/server_process.hpp"

#define BOOST_TEST_MODULE store_lists
#include <boost/test/unit_test.hpp>

#include <map>
#include <set>
#include <tuple>

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
  // Retention removes an ended run's events, and, with the endpoint's last one, the
  // endpoint itself (see the endpoint index's cases below).
  record("evt-1", attempt(2, 3200, 200), delivery_status::delivered);
  auto ended = run_at("r-1", 900);
  ended.status = run_status::completed;
  ended.ended_at = from_unix_ms(4000);
  write([&](write_batch& b) { return b.put_run(ended); });
  run_removal removal;
  write([&](write_batch& b) { return b.remove_run({"r-1"}, removal); });
  BOOST_TEST(removal.removed);
  BOOST_TEST(!s->endpoint("ep1")->has_value());
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

// -- the endpoint index (persistence/endpoint_index.hpp) ---------------------------------

namespace {

/// A store that endpoints are added to one run of one event at a time, made failing or
/// healthy by an attempt.
struct endpoints_fixture : fixture {
  std::uint64_t seq = 0;

  /// Adds an event to `url` (endpoint key `key`) in a new run; returns the event id.
  std::string add(const std::string& url, const std::string& key) {
    auto n = std::to_string(++seq);
    write([&](write_batch& b) -> boost::system::error_code {
      if (auto ec = b.put_run(run_at("r-" + n, 900)))
        return ec;
      return b.put_event(event_at("evt-" + n, "r-" + n, seq, 1000 + seq, key), "{}", url);
    });
    return "evt-" + n;
  }
  /// Records an attempt on `event` that answered `status`, at `at_ms`.
  void attempt_on(const std::string& event, int status, std::int64_t at_ms) {
    write([&](write_batch& b) {
      return b.update_event({event}, [&](event_record& e) {
        e.delivery.attempts.push_back(attempt(1, at_ms, status));
        e.delivery.status = status < 300 ? delivery_status::delivered : delivery_status::failed;
        e.delivery.next_attempt_at.reset();
      });
    });
  }
  /// Ends run `run` and removes it, as retention does.
  void remove(const std::string& run) {
    auto ended = run_at(run, 900);
    ended.status = run_status::completed;
    ended.ended_at = from_unix_ms(4000);
    write([&](write_batch& b) { return b.put_run(ended); });
    run_removal removal;
    write([&](write_batch& b) { return b.remove_run({run}, removal); });
    BOOST_REQUIRE(removal.removed);
  }
  /// Every URL of the list, page by page; `between` runs after the first page.
  std::vector<std::string> urls(std::optional<endpoint_rank> only, std::size_t limit,
                                const std::function<void()>& between = {}) {
    std::vector<std::string> out;
    list_request r;
    r.limit = limit;
    for (int pages = 0; pages < 1000; ++pages) {
      auto page = s->list_endpoints(only, r);
      BOOST_REQUIRE(page);
      BOOST_TEST(page->items.size() <= limit);
      for (auto& e : page->items)
        out.push_back(e.url);
      if (!page->next)
        return out;
      r.after = page->next;
      if (pages == 0 && between)
        between();
    }
    BOOST_FAIL("the list did not end");
    return out;
  }
};

using urls_t = std::vector<std::string>;

} // namespace

BOOST_FIXTURE_TEST_CASE(endpoints_are_listed_failing_first_then_by_url_and_by_status,
                        endpoints_fixture) {
  for (auto name : {"d", "a", "c", "e", "b"}) {
    auto event = add("https://" + std::string(name) + "/", std::string("ep-") + name);
    if (name == std::string("c") || name == std::string("e"))
      attempt_on(event, 500, 2000);
    else
      attempt_on(event, 204, 2000);
  }
  BOOST_TEST(urls(std::nullopt, 50) ==
                 (urls_t{"https://c/", "https://e/", "https://a/", "https://b/", "https://d/"}),
             boost::test_tools::per_element());
  for (std::size_t limit : {1u, 2u, 3u, 4u, 5u})
    BOOST_TEST(urls(std::nullopt, limit) ==
                   (urls_t{"https://c/", "https://e/", "https://a/", "https://b/", "https://d/"}),
               boost::test_tools::per_element());
  BOOST_TEST(urls(endpoint_rank::failing, 1) == (urls_t{"https://c/", "https://e/"}),
             boost::test_tools::per_element());
  BOOST_TEST(urls(endpoint_rank::healthy, 2) == (urls_t{"https://a/", "https://b/", "https://d/"}),
             boost::test_tools::per_element());
  // A page holds each endpoint whole, and a position is (rank, URL).
  list_request r;
  r.limit = 2;
  auto first = s->list_endpoints(std::nullopt, r);
  BOOST_REQUIRE(first);
  BOOST_TEST(first->items[0].key == "ep-c");
  BOOST_TEST(first->items[0].stats.failed == 1u);
  BOOST_TEST(to_unix_ms(*first->items[0].stats.failing_since) == 2000);
  BOOST_TEST((first->next == endpoint_position(endpoint_rank::failing, "https://e/")));
  // An exact last page has no next.
  r.limit = 5;
  BOOST_TEST(!s->list_endpoints(std::nullopt, r)->next);
  r.limit = 4;
  BOOST_TEST(s->list_endpoints(std::nullopt, r)->next.has_value());
}

BOOST_FIXTURE_TEST_CASE(an_endpoint_changing_rank_between_pages_moves_no_other_endpoint,
                        endpoints_fixture) {
  std::map<std::string, std::string> events;
  for (auto name : {"f1", "f2", "f3", "a", "h2", "h3"}) {
    auto url = "https://" + std::string(name) + "/";
    events[url] = add(url, std::string("ep-") + name);
    attempt_on(events[url], name[0] == 'f' ? 503 : 200, 2000);
  }
  // Between the first page and the second, the endpoint at the cursor recovers, and one not
  // listed yet starts failing, before the cursor.
  auto ranks_change = [&] {
    attempt_on(add("https://f2/", "ep-f2"), 204, 3000);
    attempt_on(add("https://a/", "ep-a"), 500, 3000);
  };
  auto got = urls(std::nullopt, 2, ranks_change);
  // The page after the cursor starts where the cursor's (rank, URL) would be, though that
  // entry moved: the endpoints that kept their rank are each listed once, in order. The two
  // that changed are where they stand when their part of the list is read: f2 again among
  // the healthy ones, `a` behind the walk (as a filter applies page by page, contract §8).
  BOOST_TEST(got == (urls_t{"https://f1/", "https://f2/", "https://f3/", "https://f2/",
                            "https://h2/", "https://h3/"}),
             boost::test_tools::per_element());
  // A fresh listing has the new ranks.
  BOOST_TEST(urls(endpoint_rank::failing, 50) ==
                 (urls_t{"https://a/", "https://f1/", "https://f3/"}),
             boost::test_tools::per_element());
  BOOST_TEST(urls(endpoint_rank::healthy, 50) ==
                 (urls_t{"https://f2/", "https://h2/", "https://h3/"}),
             boost::test_tools::per_element());
}

BOOST_FIXTURE_TEST_CASE(urls_longer_than_the_key_holds_are_still_listed_in_url_order,
                        endpoints_fixture) {
  // Three URLs that agree beyond what a key keeps of them, whose endpoint keys sort the
  // other way round, between a URL that is a prefix of theirs and one after them all.
  std::string common = "https://x/" + std::string(endpoint_index::indexed_url_bytes + 20, 'p');
  add(common + "c", "ep-1");
  add(common + "b", "ep-2");
  add(common + "a", "ep-3");
  add("https://x/ppp", "ep-4");
  add("https://y/", "ep-0");
  urls_t expected{"https://x/ppp", common + "a", common + "b", common + "c", "https://y/"};
  for (std::size_t limit : {1u, 2u, 3u, 50u})
    BOOST_TEST(urls(std::nullopt, limit) == expected, boost::test_tools::per_element());
}

BOOST_FIXTURE_TEST_CASE(
    an_endpoint_leaves_the_store_with_its_last_event_and_comes_back_with_a_new_one,
    endpoints_fixture) {
  auto first = add("https://a/", "ep-a");  // run r-1
  auto second = add("https://a/", "ep-a"); // run r-2
  add("https://b/", "ep-b");               // run r-3
  attempt_on(first, 500, 2000);
  BOOST_TEST(urls(endpoint_rank::failing, 50) == urls_t{"https://a/"},
             boost::test_tools::per_element());
  // Its first run goes: it keeps its other event, and its figures count that one.
  remove("r-1");
  auto a = s->endpoint("ep-a");
  BOOST_REQUIRE(a->has_value());
  BOOST_TEST((*a)->stats.pending == 1u);
  BOOST_TEST((*a)->stats.failed == 0u);
  BOOST_TEST(urls(std::nullopt, 50) == (urls_t{"https://a/", "https://b/"}),
             boost::test_tools::per_element());
  // Its last run goes, its event failed too: its figures, its index entry (failing) and its
  // URL go in the same commit.
  attempt_on(second, 500, 2500);
  remove("r-2");
  BOOST_TEST(!s->endpoint("ep-a")->has_value());
  BOOST_TEST(!s->endpoint_url("ep-a")->has_value());
  BOOST_TEST(urls(std::nullopt, 50) == urls_t{"https://b/"}, boost::test_tools::per_element());
  BOOST_TEST(urls(endpoint_rank::failing, 50).empty());
  // A new event brings it back, from nothing.
  add("https://a/", "ep-a");
  a = s->endpoint("ep-a");
  BOOST_REQUIRE(a->has_value());
  BOOST_TEST((*a)->url == "https://a/");
  BOOST_TEST((*a)->stats.pending == 1u);
  BOOST_TEST(!(*a)->stats.last_attempt);
  BOOST_TEST(**s->endpoint_url("ep-a") == "https://a/");
  BOOST_TEST(urls(std::nullopt, 50) == (urls_t{"https://a/", "https://b/"}),
             boost::test_tools::per_element());
}

BOOST_FIXTURE_TEST_CASE(a_format_5_store_gets_its_endpoint_index_once_at_open, endpoints_fixture) {
  for (auto name : {"d", "a", "c"})
    attempt_on(add("https://" + std::string(name) + "/", std::string("ep-") + name),
               name == std::string("c") ? 500 : 204, 2000);
  // Rewrite it into format 5 by hand: no endpoint index, and an endpoint whose events
  // retention removed, its figures left at zero and its URL row kept, as format 5 did.
  s.reset();
  {
    auto e = lmdb::env::open(dir.path(), std::size_t{1} << 30, 32);
    BOOST_REQUIRE(e);
    auto t = lmdb::txn::begin(*e, 0);
    BOOST_REQUIRE(t);
    auto lists = *lmdb::open_db(*t, "lists");
    auto urls = *lmdb::open_db(*t, "endpoints");
    auto meta = *lmdb::open_db(*t, "meta");
    std::vector<std::string> entries;
    {
      auto c = lmdb::cursor::open(*t, lists);
      for (bool ok = c->seek("n"); ok && c->key().starts_with("n"); ok = c->next())
        entries.emplace_back(c->key());
    }
    BOOST_REQUIRE(entries.size() == 3u);
    for (auto& k : entries)
      BOOST_REQUIRE(!t->del(lists, k));
    BOOST_REQUIRE(!t->put(lists, "hep-old", encode(endpoint_stats{})));
    BOOST_REQUIRE(!t->put(urls, "ep-old", "https://old/"));
    BOOST_REQUIRE(!t->put(meta, "format", "5"));
    BOOST_REQUIRE(!t->commit());
  }
  using heard_t = std::vector<std::tuple<std::string, std::size_t, std::size_t, bool, std::string>>;
  heard_t heard;
  auto observe = [&](const migration_progress& p) {
    heard.emplace_back(std::string(p.from_format) + ">" + std::string(p.to_format), p.runs_done,
                       p.runs_total, p.finished, std::string(p.counted));
  };
  s = std::move(*store::open(dir.path(), store::default_map_size, observe));
  // Its start, every 5 % of the endpoints (each one, of 4), and its end; then the move to the
  // delivery log (format 7), which keeps every event record as it is, and the move to first
  // attempts found by their mark (format 8: its start and end).
  BOOST_REQUIRE(heard.size() == 9u);
  BOOST_TEST(
      (heard_t(heard.begin(), heard.begin() + 5) == heard_t{{"5>6", 0, 4, false, "endpoints"},
                                                            {"5>6", 1, 4, false, "endpoints"},
                                                            {"5>6", 2, 4, false, "endpoints"},
                                                            {"5>6", 3, 4, false, "endpoints"},
                                                            {"5>6", 4, 4, true, "endpoints"}}));
  BOOST_TEST(std::get<0>(heard[6]) == "6>7");
  BOOST_TEST(std::get<3>(heard[6]));
  BOOST_TEST(std::get<4>(heard[6]) == "events");
  BOOST_TEST(std::get<0>(heard[8]) == "7>8");
  BOOST_TEST(std::get<3>(heard[8]));
  BOOST_TEST(std::get<4>(heard[8]) == "pending_entries");
  BOOST_TEST(**s->meta("format") == "8");
  BOOST_TEST(urls(std::nullopt, 2) == (urls_t{"https://c/", "https://a/", "https://d/"}),
             boost::test_tools::per_element());
  BOOST_TEST(!s->endpoint("ep-old")->has_value());
  BOOST_TEST(!s->endpoint_url("ep-old")->has_value());
  // The index is kept from then on, and built only once.
  attempt_on(add("https://d/", "ep-d"), 503, 3000);
  BOOST_TEST(urls(endpoint_rank::failing, 50) == (urls_t{"https://c/", "https://d/"}),
             boost::test_tools::per_element());
  s.reset();
  heard.clear();
  s = std::move(*store::open(dir.path(), store::default_map_size, observe));
  BOOST_TEST(heard.empty());
  BOOST_TEST(urls(std::nullopt, 50) == (urls_t{"https://c/", "https://d/", "https://a/"}),
             boost::test_tools::per_element());
}
