#include "actors/commit_gate.hpp"

#define BOOST_TEST_MODULE commit_gate
#include <boost/test/unit_test.hpp>
#include <string>
#include <thread>

using namespace rundun;

BOOST_AUTO_TEST_CASE(what_waits_runs_at_the_commit_with_its_mark_in_order) {
  commit_gate g;
  std::string heard;
  BOOST_TEST((g.current() == commit_gate::state::waiting));
  g.when_durable([&](std::uint64_t m) { heard += "a" + std::to_string(m); },
                 [&] { heard += "!a"; });
  g.when_durable([&](std::uint64_t m) { heard += "b" + std::to_string(m); },
                 [&] { heard += "!b"; });
  BOOST_TEST(g.waiting() == 2u);
  BOOST_TEST(heard.empty());
  g.open(7);
  BOOST_TEST(heard == "a7b7");
  BOOST_TEST(g.waiting() == 0u);
  BOOST_TEST((g.current() == commit_gate::state::durable));
  BOOST_TEST(g.mark() == 7u);
  // Once durable, a newcomer runs at once.
  g.when_durable([&](std::uint64_t m) { heard += "c" + std::to_string(m); }, [&] {});
  BOOST_TEST(heard == "a7b7c7");
}

BOOST_AUTO_TEST_CASE(a_failed_write_runs_nothing_and_tells_each_waiter) {
  commit_gate g;
  std::string heard;
  g.when_durable([&](std::uint64_t) { heard += "sent"; }, [&] { heard += "!a"; });
  g.fail();
  BOOST_TEST(heard == "!a");
  g.when_durable([&](std::uint64_t) { heard += "sent"; }, [&] { heard += "!b"; });
  BOOST_TEST(heard == "!a!b");
  BOOST_TEST((g.current() == commit_gate::state::failed));
}

BOOST_AUTO_TEST_CASE(a_waiter_racing_the_commit_runs_exactly_once) {
  for (int round = 0; round < 200; ++round) {
    commit_gate g;
    std::atomic<int> runs{0};
    std::thread writer{[&] { g.open(1); }};
    g.when_durable([&](std::uint64_t) { ++runs; }, [] {});
    writer.join();
    BOOST_TEST_REQUIRE(runs.load() == 1);
  }
}
