#include "persistence/store.hpp"

#include "persistence/lmdb.hpp"
#include "persistence/run_value.hpp"

#include "tests/support/server_process.hpp"

#define BOOST_TEST_MODULE store
#include <boost/test/unit_test.hpp>
#include <future>
#include <thread>

using namespace rundun;
using namespace rundun::persistence;

namespace {

event_record pending_event(const std::string& id, const std::string& run, std::uint64_t seq,
                           std::int64_t due_ms, const std::string& endpoint = "ep1") {
  event_record e;
  e.id = {id};
  e.run = {run};
  e.created_at = from_unix_ms(due_ms);
  e.seq = seq;
  e.endpoint = endpoint;
  e.delivery.next_attempt_at = from_unix_ms(due_ms);
  return e;
}

run_record active_run(const std::string& id, std::int64_t expires_ms) {
  run_record r;
  r.id = {id};
  r.token = "token-" + id;
  r.expires_at = from_unix_ms(expires_ms);
  return r;
}

} // namespace

BOOST_AUTO_TEST_CASE(what_is_committed_survives_a_reopen) {
  test::temp_dir dir;
  {
    auto s = store::open(dir.path());
    BOOST_REQUIRE(s);
    auto ec = (*s)->write_sync([](write_batch& b) {
      if (auto ec = b.put_run(active_run("r-1", 5000)))
        return ec;
      return b.put_event(pending_event("evt-1", "r-1", 1, 100), R"({"x":1})", "http://h/");
    });
    BOOST_TEST(!ec);
    (*s)->next_seq();
  }
  auto s = store::open(dir.path());
  BOOST_REQUIRE(s);
  auto run = (*s)->find_run({"r-1"});
  BOOST_REQUIRE(run);
  BOOST_TEST(run->has_value());
  BOOST_TEST((*(*s)->find_run_by_token("token-r-1"))->value == "r-1");
  BOOST_TEST(**(*s)->event_data({"evt-1"}) == R"({"x":1})");
  BOOST_TEST(**(*s)->endpoint_url("ep1") == "http://h/");
  // Sequence numbers go on from the largest stored one.
  BOOST_TEST((*s)->next_seq() == 2u);
}

BOOST_AUTO_TEST_CASE(absent_records_are_empty_not_errors) {
  test::temp_dir dir;
  auto s = store::open(dir.path());
  BOOST_REQUIRE(s);
  auto run = (*s)->find_run({"r-nope"});
  BOOST_REQUIRE(run);
  BOOST_TEST(!run->has_value());
  BOOST_TEST(!(*(*s)->find_run_by_token("nope")).has_value());
}

BOOST_AUTO_TEST_CASE(pending_deliveries_come_back_earliest_due_first_per_endpoint) {
  test::temp_dir dir;
  auto s = std::move(*store::open(dir.path()));
  s->write_sync([](write_batch& b) {
    b.put_event(pending_event("evt-c", "r", 3, 300), "{}", "u");
    b.put_event(pending_event("evt-a", "r", 1, 100), "{}", "u");
    b.put_event(pending_event("evt-b", "r", 2, 100), "{}", "u");
    b.put_event(pending_event("evt-z", "r", 4, 50, "ep2"), "{}", "u2");
    return boost::system::error_code{};
  });
  auto page = s->pending("ep1", 10);
  BOOST_REQUIRE(page);
  BOOST_REQUIRE(page->size() == 3u);
  BOOST_TEST((*page)[0].id.value == "evt-a");
  BOOST_TEST((*page)[1].id.value == "evt-b");
  BOOST_TEST((*page)[2].id.value == "evt-c");
  BOOST_TEST(s->pending("ep1", 2)->size() == 2u);
  auto eps = s->endpoints_with_pending();
  BOOST_TEST(eps->size() == 2u);
}

BOOST_AUTO_TEST_CASE(updating_a_delivery_moves_or_drops_its_pending_entry) {
  test::temp_dir dir;
  auto s = std::move(*store::open(dir.path()));
  s->write_sync([](write_batch& b) {
    b.put_event(pending_event("evt-a", "r", 1, 100), "{}", "u");
    return b.put_event(pending_event("evt-b", "r", 2, 200), "{}", "u");
  });
  s->write_sync([](write_batch& b) {
    return b.update_event({"evt-a"},
                          [](event_record& e) { e.delivery.next_attempt_at = from_unix_ms(500); });
  });
  auto page = *s->pending("ep1", 10);
  BOOST_REQUIRE(page.size() == 2u);
  BOOST_TEST(page[0].id.value == "evt-b");
  BOOST_TEST((to_unix_ms(page[1].due) == 500));
  s->write_sync([](write_batch& b) {
    return b.update_event({"evt-b"}, [](event_record& e) {
      e.delivery.status = delivery_status::delivered;
      e.delivery.next_attempt_at.reset();
    });
  });
  BOOST_TEST(s->pending("ep1", 10)->size() == 1u);
  BOOST_TEST(((*s->find_event({"evt-b"}))->delivery.status == delivery_status::delivered));
}

BOOST_AUTO_TEST_CASE(ended_runs_leave_the_expiry_index) {
  test::temp_dir dir;
  auto s = std::move(*store::open(dir.path()));
  auto r = active_run("r-1", 100);
  s->write_sync([&](write_batch& b) { return b.put_run(r); });
  s->write_sync([](write_batch& b) { return b.put_run(active_run("r-2", 50)); });
  auto active = *s->active_runs();
  BOOST_REQUIRE(active.size() == 2u);
  BOOST_TEST(active[0].first.value == "r-2");
  r.status = run_status::completed;
  s->write_sync([&](write_batch& b) { return b.put_run(r); });
  BOOST_TEST(s->active_runs()->size() == 1u);
}

BOOST_AUTO_TEST_CASE(concurrent_writers_share_commits) {
  test::temp_dir dir;
  auto s = std::move(*store::open(dir.path()));
  constexpr int writers = 8, each = 50;
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w)
    threads.emplace_back([&, w] {
      for (int i = 0; i < each; ++i) {
        auto id = "r-" + std::to_string(w) + "-" + std::to_string(i);
        BOOST_REQUIRE(!s->write_sync([&](write_batch& b) { return b.put_run(active_run(id, 1)); }));
      }
    });
  for (auto& t : threads)
    t.join();
  BOOST_TEST(s->stats().writes.load() == std::uint64_t{writers * each});
  BOOST_TEST(s->active_runs()->size() == std::size_t{writers * each});
  // With eight writers waiting on each other's fsync, batches hold more than one write.
  BOOST_TEST(s->stats().batches.load() < std::uint64_t{writers * each});
}

BOOST_AUTO_TEST_CASE(one_failing_write_does_not_undo_its_batch_mates) {
  test::temp_dir dir;
  auto s = std::move(*store::open(dir.path()));
  std::atomic<int> done{0};
  boost::system::error_code good, bad;
  s->write([](write_batch& b) { return b.put_run(active_run("r-good", 1)); },
           [&](boost::system::error_code ec) {
             good = ec;
             ++done;
           });
  s->write(
      [](write_batch& b) -> boost::system::error_code {
        b.put_run(active_run("r-bad", 1));
        return errc::io_error;
      },
      [&](boost::system::error_code ec) {
        bad = ec;
        ++done;
      });
  BOOST_REQUIRE(test::eventually([&] { return done == 2; }));
  BOOST_TEST(!good);
  BOOST_TEST(bad == make_error_code(errc::io_error));
  BOOST_TEST(s->find_run({"r-good"})->has_value());
  BOOST_TEST(!s->find_run({"r-bad"})->has_value());
}

BOOST_AUTO_TEST_CASE(a_failing_write_in_a_shared_transaction_is_retried_apart) {
  // Writes share one transaction; when one fails, the batch is run again with each write in
  // its own nested transaction. Hold the writer so that three writes meet in one batch.
  test::temp_dir dir;
  auto s = std::move(*store::open(dir.path()));
  std::promise<void> release;
  auto held = release.get_future().share();
  std::atomic<bool> holding{false};
  s->write(
      [held, &holding](write_batch& b) {
        holding = true;
        held.wait();
        return b.put_meta("first", "1");
      },
      {});
  BOOST_REQUIRE(test::eventually([&] { return holding.load(); }));
  std::atomic<int> done{0};
  std::vector<boost::system::error_code> outcomes(3);
  auto note = [&](int i) {
    return [&, i](boost::system::error_code ec) {
      outcomes[static_cast<std::size_t>(i)] = ec;
      ++done;
    };
  };
  s->write([](write_batch& b) { return b.put_run(active_run("r-a", 1)); }, note(0));
  s->write(
      [](write_batch& b) -> boost::system::error_code {
        if (auto ec = b.put_run(active_run("r-bad", 1)))
          return ec;
        return errc::io_error;
      },
      note(1));
  s->write([](write_batch& b) { return b.put_run(active_run("r-b", 1)); }, note(2));
  release.set_value();
  BOOST_REQUIRE(test::eventually([&] { return done == 3; }));
  BOOST_TEST(s->stats().batches.load() == 2u); // the held write, then the three together
  BOOST_TEST(!outcomes[0]);
  BOOST_TEST(outcomes[1] == make_error_code(errc::io_error));
  BOOST_TEST(!outcomes[2]);
  BOOST_TEST(s->find_run({"r-a"})->has_value());
  BOOST_TEST(s->find_run({"r-b"})->has_value());
  BOOST_TEST(!s->find_run({"r-bad"})->has_value());
  BOOST_TEST(!s->find_run_by_token("token-r-bad")->has_value());
}

BOOST_AUTO_TEST_CASE(a_store_in_another_format_is_refused_with_a_clear_error) {
  test::temp_dir dir;
  {
    auto s = store::open(dir.path());
    BOOST_REQUIRE(s);
    BOOST_TEST(**(*s)->meta("format") == "8"); // a new store is stamped
    BOOST_REQUIRE(!(*s)->write_sync([](write_batch& b) { return b.put_meta("format", "1"); }));
  }
  auto s = store::open(dir.path());
  BOOST_REQUIRE(!s);
  BOOST_TEST(s.error() == make_error_code(errc::unsupported_format));
  BOOST_TEST(s.error().message().find("storage format") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(events_are_found_by_id_and_listed_per_run_in_order) {
  test::temp_dir dir;
  auto s = std::move(*store::open(dir.path()));
  BOOST_REQUIRE(!s->write_sync([](write_batch& b) -> boost::system::error_code {
    // A run lists its events in its own value: stored runs only.
    if (auto ec = b.put_run(active_run("r-1", 5000)))
      return ec;
    if (auto ec = b.put_run(active_run("r-2", 5000)))
      return ec;
    for (std::uint64_t seq : {3u, 1u, 2u})
      if (auto ec = b.put_event(pending_event("evt-" + std::to_string(seq), "r-1", seq, 100),
                                "data-" + std::to_string(seq), "http://h/"))
        return ec;
    return b.put_event(pending_event("evt-9", "r-2", 9, 100), "data-9", "http://h/");
  }));
  BOOST_TEST((*s->find_event({"evt-2"}))->seq == 2u);
  BOOST_TEST(**s->event_data({"evt-3"}) == "data-3");
  BOOST_TEST(!s->find_event({"evt-4"})->has_value());
  BOOST_TEST(!s->event_data({"evt-4"})->has_value());
  auto listed = s->run_events({"r-1"});
  BOOST_REQUIRE(listed);
  BOOST_REQUIRE(listed->size() == 3u);
  BOOST_TEST((*listed)[0].id.value == "evt-1");
  BOOST_TEST((*listed)[2].id.value == "evt-3");
  BOOST_TEST(s->run_events({"r-2"})->size() == 1u);
  // A command rewrites the run's state and keeps its events.
  auto done = active_run("r-1", 5000);
  done.status = run_status::completed;
  done.ended_at = from_unix_ms(4000);
  BOOST_REQUIRE(!s->write_sync([&](write_batch& b) { return b.put_run(done); }));
  BOOST_TEST(s->run_events({"r-1"})->size() == 3u);
  BOOST_TEST(((*s->find_run({"r-1"}))->status == run_status::completed));
}

BOOST_AUTO_TEST_CASE(a_store_that_listed_events_in_an_index_is_moved_over_at_open) {
  // Format 3 kept `run_events` (`<run id>/<seq>`) beside plain JSON state values. Build one:
  // a store of today, rewritten by hand into that layout.
  test::temp_dir dir;
  {
    auto s = std::move(*store::open(dir.path()));
    BOOST_REQUIRE(!s->write_sync([](write_batch& b) -> boost::system::error_code {
      if (auto ec = b.put_run(active_run("r-1", 5000)))
        return ec;
      for (std::uint64_t seq : {1u, 2u, 7u})
        if (auto ec = b.put_event(pending_event("evt-" + std::to_string(seq), "r-1", seq, 100),
                                  "{}", "http://h/"))
          return ec;
      return {};
    }));
  }
  {
    auto e = lmdb::env::open(dir.path(), std::size_t{1} << 30, 32);
    BOOST_REQUIRE(e);
    auto t = lmdb::txn::begin(*e, 0);
    BOOST_REQUIRE(t);
    auto runs = *lmdb::open_db(*t, "runs");
    auto index = *lmdb::open_db(*t, "run_events");
    auto meta = *lmdb::open_db(*t, "meta");
    auto value = **t->get(runs, "r-1");
    BOOST_REQUIRE(!t->put(runs, "r-1", std::string(run_state_json(value))));
    for (std::uint64_t seq : {1u, 2u, 7u})
      BOOST_REQUIRE(!t->put(index, "r-1/" + big_endian(seq), {}));
    BOOST_REQUIRE(!t->put(meta, "format", "3"));
    BOOST_REQUIRE(!t->commit());
  }
  using heard_t = std::vector<std::tuple<std::string, std::size_t, std::size_t, bool>>;
  heard_t heard;
  auto s = store::open(dir.path(), store::default_map_size, [&](const migration_progress& p) {
    heard.emplace_back(std::string(p.from_format) + ">" + std::string(p.to_format), p.runs_done,
                       p.runs_total, p.finished);
  });
  BOOST_REQUIRE(s);
  auto listed = (*s)->run_events({"r-1"});
  BOOST_REQUIRE(listed);
  BOOST_REQUIRE(listed->size() == 3u);
  BOOST_TEST((*listed)[2].id.value == "evt-7");
  BOOST_TEST(**(*s)->meta("format") == "8");
  BOOST_TEST((*s)->find_run({"r-1"})->has_value());
  // Each move reported its start and its end: format 3 to 4 (the event lists), 4 to 5 (the
  // list indexes, which now list the run and its events), 5 to 6 (the endpoint index, over
  // its one endpoint), 6 to 7 (the delivery log: its 3 events' records kept as they are),
  // then 7 to 8 (first attempts by their mark: the store has no pending entries).
  BOOST_TEST((heard == heard_t{{"3>4", 0, 1, false},
                               {"3>4", 1, 1, true},
                               {"4>5", 0, 1, false},
                               {"4>5", 1, 1, true},
                               {"5>6", 0, 1, false},
                               {"5>6", 1, 1, true},
                               {"6>7", 3, 3, false},
                               {"6>7", 3, 3, true},
                               {"7>8", 0, 0, false},
                               {"7>8", 0, 0, true}}));
  BOOST_TEST((*s)->list_endpoints(std::nullopt, {})->items.size() == 1u);
  auto events = (*s)->list_events({}, {});
  BOOST_REQUIRE(events);
  BOOST_TEST(events->items.size() == 3u);
  BOOST_TEST((*s)->list_runs({}, {})->items.size() == 1u);
  // A store already in the current format reports nothing.
  s->reset();
  heard.clear();
  BOOST_REQUIRE(store::open(dir.path(), store::default_map_size,
                            [&](const migration_progress&) { heard.emplace_back(); }));
  BOOST_TEST(heard.empty());
}

BOOST_AUTO_TEST_CASE(a_full_map_is_a_clear_error_not_a_crash) {
  test::temp_dir dir;
  constexpr std::size_t tiny_map = 256 * 1024;
  auto s = std::move(*store::open(dir.path(), tiny_map));
  std::string big(64 * 1024, 'x');
  boost::system::error_code last;
  for (int i = 0; i < 64 && !last; ++i)
    last = s->write_sync(
        [&, i](write_batch& b) { return b.put_meta("blob-" + std::to_string(i), big); });
  BOOST_TEST(last == make_error_code(errc::map_full));
  BOOST_TEST(last.message().find("map is full") != std::string::npos);
  // The store still reads and still takes small writes that fit.
  BOOST_TEST(s->meta("blob-0")->has_value());
}

namespace {

run_record ended_run(const std::string& id, std::int64_t ended_ms,
                     std::vector<std::string> photos = {}) {
  auto r = active_run(id, ended_ms + 1000);
  r.status = run_status::completed;
  r.ended_at = from_unix_ms(ended_ms);
  step_state step;
  step.def.id = "s";
  step.photos = std::move(photos);
  r.steps.push_back(step);
  return r;
}

event_record settled_event(const std::string& id, const std::string& run, std::uint64_t seq,
                           delivery_status status) {
  auto e = pending_event(id, run, seq, 100);
  e.delivery.status = status;
  e.delivery.next_attempt_at.reset();
  return e;
}

} // namespace

BOOST_AUTO_TEST_CASE(removing_an_ended_run_removes_its_events_photos_and_indexes) {
  test::temp_dir dir;
  auto s = std::move(*store::open(dir.path()));
  photo_record photo;
  photo.id = {"p-1"};
  photo.run = {"r-old"};
  BOOST_REQUIRE(!s->write_sync([&](write_batch& b) {
    if (auto ec = b.put_run(ended_run("r-old", 1000, {"p-1"})))
      return ec;
    if (auto ec = b.put_photo(photo, "bytes", "thumb"))
      return ec;
    if (auto ec =
            b.put_event(settled_event("evt-1", "r-old", 1, delivery_status::delivered), "{}", "u"))
      return ec;
    if (auto ec =
            b.put_event(settled_event("evt-2", "r-old", 2, delivery_status::failed), "{}", "u"))
      return ec;
    if (auto ec = b.put_run(ended_run("r-newer", 5000)))
      return ec;
    return b.put_run(active_run("r-active", 9000));
  }));
  // Ended runs in the order they ended; an active run is not among them.
  auto due = *s->runs_ended_by(from_unix_ms(6000), 10);
  BOOST_REQUIRE(due.size() == 2u);
  BOOST_TEST(due[0].value == "r-old");
  BOOST_TEST(due[1].value == "r-newer");
  BOOST_TEST(s->runs_ended_by(from_unix_ms(2000), 10)->size() == 1u);

  run_removal r;
  BOOST_REQUIRE(!s->write_sync([&](write_batch& b) { return b.remove_run({"r-old"}, r); }));
  BOOST_TEST(r.removed);
  BOOST_TEST(r.events == 2u);
  BOOST_TEST(r.photos == 1u);
  BOOST_TEST(!s->find_run({"r-old"})->has_value());
  BOOST_TEST(!s->find_run_by_token("token-r-old")->has_value());
  BOOST_TEST(!s->find_event({"evt-1"})->has_value());
  BOOST_TEST(!s->event_data({"evt-2"})->has_value());
  BOOST_TEST(s->run_events({"r-old"})->empty());
  BOOST_TEST(!s->find_photo({"p-1"})->has_value());
  BOOST_TEST(!s->photo_bytes({"p-1"})->has_value());
  BOOST_TEST(s->runs_ended_by(from_unix_ms(6000), 10)->size() == 1u);

  // An active run is never removed.
  run_removal active;
  BOOST_REQUIRE(!s->write_sync([&](write_batch& b) { return b.remove_run({"r-active"}, active); }));
  BOOST_TEST(!active.removed);
  BOOST_TEST(s->find_run({"r-active"})->has_value());
}

BOOST_AUTO_TEST_CASE(a_run_with_a_delivery_still_pending_is_kept_whole) {
  test::temp_dir dir;
  auto s = std::move(*store::open(dir.path()));
  BOOST_REQUIRE(!s->write_sync([&](write_batch& b) {
    if (auto ec = b.put_run(ended_run("r-1", 1000)))
      return ec;
    if (auto ec =
            b.put_event(settled_event("evt-1", "r-1", 1, delivery_status::delivered), "{}", "u"))
      return ec;
    return b.put_event(pending_event("evt-2", "r-1", 2, 100), "{}", "u");
  }));
  run_removal r;
  BOOST_REQUIRE(!s->write_sync([&](write_batch& b) { return b.remove_run({"r-1"}, r); }));
  BOOST_TEST(r.kept);
  BOOST_TEST(!r.removed);
  BOOST_TEST(s->run_events({"r-1"})->size() == 2u);
  BOOST_TEST(s->find_run({"r-1"})->has_value());
}

BOOST_AUTO_TEST_CASE(ended_runs_of_an_older_store_are_indexed_once_at_open) {
  test::temp_dir dir;
  {
    auto s = std::move(*store::open(dir.path()));
    BOOST_REQUIRE(
        !s->write_sync([&](write_batch& b) { return b.put_run(ended_run("r-1", 1000)); }));
  }
  {
    // Made into a store from before the index: no entries, no mark.
    auto e = std::move(*lmdb::env::open(dir.path(), std::size_t{1} << 30, 24));
    auto t = std::move(*lmdb::txn::begin(e, 0));
    auto ended = *lmdb::open_db(t, "ended");
    auto meta = *lmdb::open_db(t, "meta");
    BOOST_REQUIRE(mdb_drop(t.handle(), ended, 0) == 0);
    BOOST_REQUIRE(!t.del(meta, "ended_index"));
    BOOST_REQUIRE(!t.commit());
  }
  auto s = std::move(*store::open(dir.path()));
  auto due = *s->runs_ended_by(from_unix_ms(2000), 10);
  BOOST_REQUIRE(due.size() == 1u);
  BOOST_TEST(due[0].value == "r-1");
}

BOOST_AUTO_TEST_CASE(an_attempt_result_from_a_stale_copy_changes_the_event_as_stored) {
  test::temp_dir dir;
  auto s = std::move(*store::open(dir.path()));
  event_record e;
  e.id = {"evt-1"};
  e.run = {"r-1"};
  e.created_at = from_unix_ms(1000);
  e.seq = 1;
  e.endpoint = "ep";
  e.delivery.next_attempt_at = e.created_at;
  BOOST_REQUIRE(!s->write_sync([&](write_batch& b) { return b.put_event(e, "{}", "http://a/"); }));
  // The first attempt fails: it waits for its retry at 31.1 s.
  delivery_change first{e, {}};
  first.step.attempt = attempt_record{1, from_unix_ms(1100), 500, "http status 500", 3};
  first.step.next_attempt_at = from_unix_ms(31'100);
  first.step.round_failures = 1;
  BOOST_REQUIRE(!s->write_sync([&](write_batch& b) { return b.append_delivery(first); }));
  // A second result from a copy that still has the event due at creation (an endpoint actor
  // that failed, and paged the event in, before the first result was stored): it cannot
  // find the pending entry it knows, so it changes the event as the store has it.
  auto stale = first;
  stale.step.attempt = attempt_record{2, from_unix_ms(1200), 204, std::nullopt, 2};
  stale.step.status = delivery_status::delivered;
  stale.step.next_attempt_at.reset();
  BOOST_REQUIRE(!s->write_sync([&](write_batch& b) { return b.append_delivery(stale); }));
  auto got = s->find_event(e.id);
  BOOST_REQUIRE(got);
  BOOST_REQUIRE(got->has_value());
  BOOST_TEST((*got)->delivery.attempts.size() == 2u);
  BOOST_TEST(((*got)->delivery.status == delivery_status::delivered));
  // Nothing of the event is left waiting, and the endpoint counts it once, delivered.
  BOOST_TEST(s->pending("ep", 10)->empty());
  auto health = s->endpoint("ep");
  BOOST_REQUIRE(health);
  BOOST_REQUIRE(health->has_value());
  BOOST_TEST((*health)->stats.pending == 0u);
  BOOST_TEST((*health)->stats.delivered == 1u);
  BOOST_TEST((*health)->stats.failed == 0u);
}

BOOST_AUTO_TEST_CASE(first_attempts_wait_without_an_entry_and_are_found_again_from_their_mark) {
  test::temp_dir dir;
  auto first_result = [](const event_record& e, int status, std::int64_t at_ms) {
    delivery_change c{e, {}};
    c.step.attempt = attempt_record{1, from_unix_ms(at_ms), status, std::nullopt, 2};
    if (status >= 300) {
      c.step.next_attempt_at = from_unix_ms(at_ms + 30'000);
      c.step.round_failures = 1;
    } else {
      c.step.status = delivery_status::delivered;
    }
    return c;
  };
  auto a1 = pending_event("evt-a1", "r", 11, 100, "ep-a");
  auto a2 = pending_event("evt-a2", "r", 12, 110, "ep-a");
  auto b1 = pending_event("evt-b1", "r", 13, 120, "ep-b");
  auto a3 = pending_event("evt-a3", "r", 14, 130, "ep-a");
  {
    auto s = std::move(*store::open(dir.path()));
    BOOST_REQUIRE(!s->write_sync([&](write_batch& b) {
      for (auto* e : {&a1, &a2, &b1, &a3})
        RUNDUN_TRY(b.put_event(*e, "{}", "http://" + e->endpoint + "/"));
      return boost::system::error_code{};
    }));
    // The mark is the lowest event that waits for its first attempt.
    BOOST_TEST(read_big_endian(**s->meta("first_attempt_mark")) == 11u);
    // a1 is delivered, a2 fails and waits for its retry (in the pending index, due 30 s
    // later), b1 and a3 still wait for their first attempt.
    BOOST_REQUIRE(!s->write_sync([&](write_batch& b) {
      RUNDUN_TRY(b.append_delivery(first_result(a1, 204, 1000)));
      return b.append_delivery(first_result(a2, 500, 1000));
    }));
    auto page = s->pending("ep-a", 10);
    BOOST_REQUIRE(page);
    BOOST_REQUIRE(page->size() == 2u);
    BOOST_TEST((*page)[0].id.value == "evt-a3");
    BOOST_TEST((*page)[1].id.value == "evt-a2");
    BOOST_TEST(to_unix_ms((*page)[1].due) == 31'000);
    BOOST_TEST(s->pending("ep-a", 1)->size() == 1u);
    // Written by the next commit: the writes above ended a1, the lowest, in its own.
    BOOST_REQUIRE(!s->write_sync([](write_batch& b) { return b.put_meta("x", "y"); }));
    BOOST_TEST(read_big_endian(**s->meta("first_attempt_mark")) == 13u);
  }
  // A reopen finds them again from the mark, with their counts.
  auto s = std::move(*store::open(dir.path()));
  auto page = s->pending("ep-a", 10);
  BOOST_REQUIRE(page);
  BOOST_REQUIRE(page->size() == 2u);
  BOOST_TEST((*page)[0].id.value == "evt-a3");
  BOOST_TEST((*page)[1].id.value == "evt-a2");
  BOOST_REQUIRE(s->pending("ep-b", 10)->size() == 1u);
  auto eps = *s->endpoints_with_pending();
  std::sort(eps.begin(), eps.end());
  BOOST_TEST((eps == std::vector<std::string>{"ep-a", "ep-b"}));
  auto counts = s->pending_counts();
  std::sort(counts.begin(), counts.end());
  BOOST_TEST(
      (counts == std::vector<std::pair<std::string, std::uint64_t>>{{"ep-a", 2}, {"ep-b", 1}}));
  // The endpoint's next attempt is its waiting first attempt's.
  BOOST_TEST(to_unix_ms(*(*s->endpoint("ep-a"))->next_attempt_at) == 130);
  // A first attempt's result after the reopen finds its event waiting.
  BOOST_REQUIRE(!s->write_sync(
      [&](write_batch& b) { return b.append_delivery(first_result(b1, 200, 2000)); }));
  BOOST_TEST(s->pending("ep-b", 10)->empty());
  BOOST_TEST((*s->find_event({"evt-b1"}))->delivery.attempts.size() == 1u);
  BOOST_TEST((*s->endpoint("ep-b"))->stats.delivered == 1u);
  BOOST_TEST((*s->endpoint("ep-b"))->stats.pending == 0u);
}
