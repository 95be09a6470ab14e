#include "persistence/first_attempts.hpp"

#define BOOST_TEST_MODULE first_attempts
#include <algorithm>
#include <boost/test/unit_test.hpp>

using namespace rundun::persistence;

BOOST_AUTO_TEST_CASE(each_endpoint_lists_its_waiting_events_lowest_first) {
  first_attempts w;
  for (std::uint64_t seq : {5u, 2u, 9u})
    w.add("a", seq);
  w.add("b", 4);
  BOOST_TEST((w.first("a", 0, 10) == std::vector<std::uint64_t>{2, 5, 9}));
  BOOST_TEST((w.first("a", 0, 2) == std::vector<std::uint64_t>{2, 5}));
  BOOST_TEST(w.first("c", 0, 10).empty());
  BOOST_TEST((w.first("a", 3, 10) == std::vector<std::uint64_t>{5, 9}));
  BOOST_TEST((w.first("a", 5, 1) == std::vector<std::uint64_t>{5}));
  BOOST_TEST(w.first("a", 10, 10).empty());
  BOOST_TEST(w.count("a") == 3u);
  BOOST_TEST(w.count("c") == 0u);
  BOOST_TEST(w.contains("a", 5));
  BOOST_TEST(!w.contains("b", 5));
  auto eps = w.endpoints();
  std::sort(eps.begin(), eps.end());
  BOOST_TEST((eps == std::vector<std::string>{"a", "b"}));
}

BOOST_AUTO_TEST_CASE(the_low_water_mark_is_the_lowest_waiting_event_of_any_endpoint) {
  first_attempts w;
  BOOST_TEST(!w.low_water_mark());
  w.add("a", 7);
  w.add("b", 3);
  w.add("a", 5);
  BOOST_TEST(*w.low_water_mark() == 3u);
  BOOST_TEST(*w.mark("a") == 5u);
  // Out of order: removing a later event leaves the mark; removing the lowest raises it.
  w.remove("a", 7);
  BOOST_TEST(*w.mark("a") == 5u);
  w.remove("b", 3);
  BOOST_TEST(*w.low_water_mark() == 5u);
  BOOST_TEST(!w.mark("b"));
  BOOST_TEST(w.endpoints() == std::vector<std::string>{"a"});
  // Removing what does not wait changes nothing.
  w.remove("a", 42);
  w.remove("z", 5);
  BOOST_TEST(*w.low_water_mark() == 5u);
  w.remove("a", 5);
  BOOST_TEST(!w.low_water_mark());
  BOOST_TEST(w.endpoints().empty());
}

BOOST_AUTO_TEST_CASE(sequence_numbers_across_blocks_keep_their_order_and_count) {
  first_attempts w;
  std::vector<std::uint64_t> seqs{0, 1, 63, 64, 65, 127, 128, 1000, 1u << 20};
  for (auto it = seqs.rbegin(); it != seqs.rend(); ++it)
    w.add("a", *it);
  w.add("a", 64); // already waiting: counted once
  BOOST_TEST(w.first("a", 0, 100) == seqs, boost::test_tools::per_element());
  BOOST_TEST((w.first("a", 64, 3) == std::vector<std::uint64_t>{64, 65, 127}));
  BOOST_TEST((w.first("a", 66, 2) == std::vector<std::uint64_t>{127, 128}));
  BOOST_TEST(w.count("a") == seqs.size());
  BOOST_TEST((w.first("a", 0, 4) == std::vector<std::uint64_t>{0, 1, 63, 64}));
  for (auto seq : {0u, 1u, 63u}) {
    BOOST_TEST(*w.mark("a") == seq);
    w.remove("a", seq);
  }
  BOOST_TEST(*w.low_water_mark() == 64u);
  BOOST_TEST(!w.contains("a", 63));
  BOOST_TEST(w.contains("a", 1000));
  BOOST_TEST(w.count("a") == seqs.size() - 3);
}

BOOST_AUTO_TEST_CASE(an_event_in_a_new_lower_block_moves_the_mark_down) {
  first_attempts w;
  w.add("a", 200);
  w.add("a", 10); // a block below the first one
  BOOST_TEST(*w.mark("a") == 10u);
  BOOST_TEST(*w.low_water_mark() == 10u);
  w.add("a", 300); // a block above: the mark stays
  BOOST_TEST(*w.low_water_mark() == 10u);
  w.remove("a", 10);
  BOOST_TEST(*w.low_water_mark() == 200u);
  w.remove("a", 200);
  BOOST_TEST(*w.low_water_mark() == 300u);
}
