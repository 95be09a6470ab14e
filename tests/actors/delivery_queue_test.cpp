#include "actors/delivery_queue.hpp"

#define BOOST_TEST_MODULE delivery_queue
#include <boost/test/unit_test.hpp>

using namespace rundun;
using namespace std::chrono_literals;

namespace {

const auto t0 = from_unix_ms(1'000'000);

delivery_job job(const std::string& id, const std::string& run, std::uint64_t seq,
                 time_point due = t0) {
  delivery_job j;
  j.id = {id};
  j.run = {run};
  j.seq = seq;
  j.created_at = due;
  j.due = due;
  return j;
}

std::vector<std::string> ids(const std::vector<delivery_job*>& jobs) {
  std::vector<std::string> out;
  for (auto* j : jobs)
    out.push_back(j->id.value);
  return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(first_attempts_of_one_run_go_one_at_a_time_in_order) {
  delivery_queue q{16, 100};
  q.add(job("e2", "r", 2));
  q.add(job("e1", "r", 1));
  q.add(job("e3", "r", 3));
  BOOST_TEST((ids(q.take_ready(t0)) == std::vector<std::string>{"e1"}));
  BOOST_TEST(q.take_ready(t0).empty()); // e2 waits for e1's first attempt to end
  q.finish({"e1"}, t0 + 30s);           // e1 failed: its retry no longer blocks e2
  BOOST_TEST((ids(q.take_ready(t0)) == std::vector<std::string>{"e2"}));
  q.finish({"e2"}, std::nullopt);
  BOOST_TEST((ids(q.take_ready(t0)) == std::vector<std::string>{"e3"}));
}

BOOST_AUTO_TEST_CASE(different_runs_do_not_wait_for_each_other) {
  delivery_queue q{16, 100};
  q.add(job("a1", "a", 1));
  q.add(job("a2", "a", 3));
  q.add(job("b1", "b", 2));
  auto started = ids(q.take_ready(t0));
  BOOST_TEST(started.size() == 2u);
  BOOST_TEST(q.in_flight() == 2u);
}

BOOST_AUTO_TEST_CASE(the_in_flight_cap_holds) {
  delivery_queue q{2, 100};
  for (int i = 0; i < 5; ++i)
    q.add(job("e" + std::to_string(i), "r" + std::to_string(i), i));
  BOOST_TEST((q.take_ready(t0).size() == 2u));
  BOOST_TEST(q.take_ready(t0).empty());
  q.finish({"e0"}, std::nullopt);
  BOOST_TEST((q.take_ready(t0).size() == 1u));
}

BOOST_AUTO_TEST_CASE(retries_wait_for_their_time_and_may_overtake) {
  delivery_queue q{16, 100};
  q.add(job("e1", "r", 1));
  q.take_ready(t0);
  q.finish({"e1"}, t0 + 30s);
  q.add(job("e2", "r", 2));
  BOOST_TEST((ids(q.take_ready(t0 + 1s)) == std::vector<std::string>{"e2"}));
  BOOST_TEST((q.next_due_after(t0 + 1s) == t0 + 30s));
  BOOST_TEST(q.take_ready(t0 + 29s).empty());
  auto due = q.take_ready(t0 + 30s);
  BOOST_REQUIRE(due.size() == 1u);
  BOOST_TEST((due[0]->attempts == 1));
}

BOOST_AUTO_TEST_CASE(the_window_is_bounded_and_rejects_duplicates) {
  delivery_queue q{16, 2};
  BOOST_TEST(q.add(job("e1", "a", 1)));
  BOOST_TEST(!q.add(job("e1", "a", 1)));
  BOOST_TEST(q.add(job("e2", "b", 2)));
  BOOST_TEST(!q.add(job("e3", "c", 3)));
  BOOST_TEST(q.full());
}

BOOST_AUTO_TEST_CASE(eviction_drops_the_latest_due_waiting_job) {
  delivery_queue q{16, 2};
  q.add(job("early", "a", 1, t0));
  q.add(job("late", "b", 2, t0 + 1h));
  BOOST_TEST(!q.evict_later_than(t0 + 2h, 9));
  auto out = q.evict_later_than(t0 + 1s, 3);
  BOOST_REQUIRE(out);
  BOOST_TEST(out->value == "late");
  BOOST_TEST(!q.contains({"late"}));
  BOOST_TEST(q.size() == 1u);
}

BOOST_AUTO_TEST_CASE(removing_a_run_keeps_its_attempt_in_flight) {
  delivery_queue q{16, 100};
  q.add(job("e1", "r", 1));
  q.add(job("e2", "r", 2));
  q.add(job("x1", "other", 3));
  q.take_ready(t0); // e1 and x1 in flight
  auto removed = q.remove_run({"r"});
  BOOST_REQUIRE(removed.size() == 1u);
  BOOST_TEST(removed[0].id.value == "e2");
  BOOST_TEST(q.contains({"e1"}));
  q.finish({"e1"}, std::nullopt);
  BOOST_TEST(q.size() == 1u);
}

BOOST_AUTO_TEST_CASE(removing_a_run_or_the_waiting_jobs_keeps_a_job_held_for_its_commit) {
  delivery_queue q{16, 100};
  BOOST_REQUIRE(q.add_held(job("h1", "r", 1)));
  q.add(job("w1", "r", 2));
  q.add(job("w2", "other", 3));
  auto removed = q.remove_run({"r"});
  BOOST_REQUIRE(removed.size() == 1u);
  BOOST_TEST(removed[0].id.value == "w1");
  BOOST_TEST(q.held({"h1"}));
  auto waiting = q.remove_waiting([](const delivery_job&) { return false; });
  BOOST_REQUIRE(waiting.size() == 1u);
  BOOST_TEST(waiting[0].id.value == "w2");
  BOOST_TEST(q.size() == 1u);
  BOOST_REQUIRE(q.add(job("s1", "s", 4)));
  BOOST_TEST(q.remove_waiting([](const delivery_job& j) { return j.id.value == "s1"; }).empty());
}

BOOST_AUTO_TEST_CASE(a_redelivery_does_not_wait_for_first_attempt_order) {
  delivery_queue q{16, 100};
  q.add(job("e1", "r", 1));
  auto again = job("e0", "r", 0);
  again.attempts = 2;
  again.redelivery = true;
  q.add(again);
  BOOST_TEST((q.take_ready(t0).size() == 2u));
}

BOOST_AUTO_TEST_CASE(a_recoverys_events_keep_their_runs_order_and_their_retries_do_not) {
  delivery_queue q{16, 100};
  for (std::uint64_t seq : {3u, 1u, 2u}) {
    auto j = job("e" + std::to_string(seq), "r", seq);
    j.attempts = 6; // failed before: a recovery sends them again
    j.redelivery = true;
    j.recovery = true;
    q.add(j);
  }
  BOOST_TEST((ids(q.take_ready(t0)) == std::vector<std::string>{"e1"}));
  BOOST_TEST(q.take_ready(t0).empty()); // e2 waits for e1's attempt
  q.finish({"e1"}, t0);                 // failed again: its retry is an ordinary one
  BOOST_TEST((ids(q.take_ready(t0)) == std::vector<std::string>{"e1", "e2"}));
  q.finish({"e2"}, std::nullopt);
  BOOST_TEST((ids(q.take_ready(t0)) == std::vector<std::string>{"e3"}));
}

BOOST_AUTO_TEST_CASE(a_job_put_back_unstarted_keeps_its_attempts_and_its_runs_order) {
  delivery_queue q{16, 100};
  q.add(job("e1", "r", 1));
  q.add(job("e2", "r", 2));
  BOOST_TEST((ids(q.take_ready(t0)) == std::vector<std::string>{"e1"}));
  // e1's last result is not stored yet: it goes back, unstarted, due later.
  q.put_back({"e1"}, t0 + 100ms);
  BOOST_TEST(q.in_flight() == 0u);
  BOOST_TEST(q.find({"e1"})->attempts == 0);
  // Until then nothing goes: e2 still waits for e1's first attempt.
  BOOST_TEST(q.take_ready(t0 + 50ms).empty());
  BOOST_TEST((ids(q.take_ready(t0 + 100ms)) == std::vector<std::string>{"e1"}));
  q.finish({"e1"}, std::nullopt);
  BOOST_TEST((ids(q.take_ready(t0 + 100ms)) == std::vector<std::string>{"e2"}));
  // Putting back a job that is not in flight changes nothing.
  q.put_back({"e1"}, t0);
  q.put_back({"nope"}, t0);
  BOOST_TEST(q.in_flight() == 1u);
}

BOOST_AUTO_TEST_CASE(a_withdrawn_job_is_as_if_never_added_and_one_in_flight_stays) {
  delivery_queue q{4, 10};
  BOOST_REQUIRE(q.add(job("a1", "a", 1)));
  BOOST_REQUIRE(q.add(job("a2", "a", 2)));
  BOOST_TEST(ids(q.take_ready(t0)) == std::vector<std::string>{"a1"});
  BOOST_TEST(q.sending({"a1"}));
  BOOST_TEST(!q.sending({"a2"}));
  // a2 waits behind a1; withdrawn, it is gone, and a1, in flight, cannot be withdrawn.
  q.withdraw({"a2"});
  q.withdraw({"a1"});
  BOOST_TEST(!q.contains({"a2"}));
  BOOST_TEST(q.sending({"a1"}));
  BOOST_TEST(q.size() == 1u);
  // Its run's order forgets it too: added again later, it is the next first attempt.
  q.finish({"a1"}, std::nullopt);
  BOOST_REQUIRE(q.add(job("a2", "a", 2)));
  BOOST_TEST(ids(q.take_ready(t0)) == std::vector<std::string>{"a2"});
}

BOOST_AUTO_TEST_CASE(a_held_job_keeps_its_runs_order_and_is_neither_started_nor_evicted) {
  delivery_queue q{4, 3};
  BOOST_REQUIRE(q.add(job("a1", "a", 1)));
  q.hold({"a1"});
  BOOST_TEST(q.held({"a1"}));
  BOOST_REQUIRE(q.add(job("a2", "a", 2)));
  BOOST_REQUIRE(q.add(job("b1", "b", 3, t0 + 5s)));
  // a2 waits behind its run's held a1; b1 goes when due.
  BOOST_TEST(q.take_ready(t0).empty());
  // A full window still takes a held job; eviction never picks one.
  BOOST_TEST(q.full());
  BOOST_REQUIRE(q.add_held(job("c1", "c", 4, t0 + 9s)));
  BOOST_TEST(q.size() == 4u);
  auto evicted = q.evict_later_than(t0, 0);
  BOOST_REQUIRE(evicted);
  BOOST_TEST(evicted->value == "b1");
  BOOST_TEST(q.contains({"c1"}));
  // Released at its commit, a1 goes first, then a2 after it.
  q.release({"a1"});
  BOOST_TEST(!q.held({"a1"}));
  BOOST_TEST(ids(q.take_ready(t0)) == std::vector<std::string>{"a1"});
  q.finish({"a1"}, std::nullopt);
  BOOST_TEST(ids(q.take_ready(t0)) == std::vector<std::string>{"a2"});
  // A held job whose write failed is withdrawn.
  q.withdraw({"c1"});
  BOOST_TEST(!q.contains({"c1"}));
}
