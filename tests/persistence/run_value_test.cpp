#include "persistence/run_value.hpp"

#define BOOST_TEST_MODULE run_value
#include <boost/test/unit_test.hpp>

using namespace rundun::persistence;

BOOST_AUTO_TEST_CASE(events_append_after_the_state_and_survive_a_new_state) {
  std::string v = R"({"status":0})";
  BOOST_TEST(run_event_seqs(v).empty());
  BOOST_TEST(run_state_json(v) == v);
  for (std::uint64_t seq : {5u, 6u, 300u, 1u << 20, 7u}) // out of order too
    v = with_run_event(v, seq);
  BOOST_TEST(run_state_json(v) == R"({"status":0})");
  BOOST_TEST((run_event_seqs(v) == std::vector<std::uint64_t>{5, 6, 300, 1u << 20, 7}));
  // Several at once are the same bytes as one after the other.
  std::vector<std::uint64_t> batch{5, 6, 300, 1u << 20, 7};
  BOOST_TEST(with_run_events(R"({"status":0})", batch) == v);
  v = with_run_state(v, R"({"status":1})");
  BOOST_TEST(run_state_json(v) == R"({"status":1})");
  BOOST_TEST(run_event_seqs(v).size() == 5u);
}

BOOST_AUTO_TEST_CASE(large_sequence_numbers_and_a_cut_tail) {
  auto v = with_run_event(with_run_event("{}", 1), ~std::uint64_t{0} >> 1);
  BOOST_TEST((run_event_seqs(v) == std::vector<std::uint64_t>{1, ~std::uint64_t{0} >> 1}));
  // A tail cut inside a number reads as no events, not as garbage.
  BOOST_TEST(run_event_seqs(v.substr(0, v.size() - 1)).empty());
  // Each event costs a few bytes: close sequence numbers take one.
  auto w = std::string("{}");
  for (std::uint64_t seq = 1000; seq < 1100; ++seq)
    w = with_run_event(w, seq);
  BOOST_TEST(w.size() < 2 + 1 + 2 + 100);
}
