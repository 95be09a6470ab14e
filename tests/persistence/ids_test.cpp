#include "persistence/ids.hpp"

#define BOOST_TEST_MODULE ids
#include <boost/test/unit_test.hpp>

#include <regex>
#include <set>
#include <thread>
#include <vector>

using namespace rundun;

namespace {

const std::regex uuid_shape{"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"};
const std::regex token_shape{"[A-Za-z0-9_-]{43}"};

} // namespace

BOOST_AUTO_TEST_CASE(a_single_nodes_ids_are_time_ordered_uuid_v7_and_carry_no_owner) {
  id_minter ids;
  auto run = ids.run().value;
  BOOST_TEST(run.substr(0, 2) == "r-");
  BOOST_TEST(std::regex_match(run.substr(2), uuid_shape));
  BOOST_TEST(run[2 + 14] == '7');
  BOOST_TEST(run.substr(2 + 15, 3) == "000"); // rand_a: no owner
  BOOST_TEST(!owner_of_id(run));
  BOOST_TEST(!owner_of_id("r-" + make_uuid_v4())); // what single nodes made before
  BOOST_TEST(!owner_of_id(ids.event().value));
  BOOST_TEST(!owner_of_token(ids.link_token()));
}

BOOST_AUTO_TEST_CASE(a_nodes_ids_are_uuid_v7_of_todays_shapes_and_name_their_owner) {
  auto mark = make_owner_mark("node-b");
  id_minter ids{mark};
  for (auto id : {ids.run().value, ids.event().value, ids.photo().value, ids.template_().value}) {
    auto uuid = id.substr(id.find('-') + 1);
    BOOST_TEST(std::regex_match(uuid, uuid_shape), id);
    BOOST_TEST(uuid[14] == '7');
    BOOST_REQUIRE(owner_of_id(id));
    BOOST_TEST(owner_of_id(id)->value == mark.value);
  }
  auto token = ids.link_token();
  BOOST_TEST(std::regex_match(token, token_shape));
  BOOST_REQUIRE(owner_of_token(token));
  BOOST_TEST(owner_of_token(token)->value == mark.value);
}

BOOST_AUTO_TEST_CASE(v7_ids_are_time_ordered) {
  id_minter ids{make_owner_mark("a")};
  auto first = ids.run().value;
  std::string later;
  do
    later = ids.run().value;
  while (later.substr(2, 13) == first.substr(2, 13)); // the same millisecond
  BOOST_TEST(later.substr(2, 13) > first.substr(2, 13));
}

BOOST_AUTO_TEST_CASE(ids_made_in_a_tight_loop_on_several_threads_are_strictly_increasing) {
  // Most of these share a millisecond with others: their order must still be the order
  // they were made in (RFC 9562 §6.2), so "newest first" lists them as they were created.
  constexpr int threads = 4;
  constexpr int per_thread = 10'000;
  std::vector<std::vector<std::string>> made(threads);
  {
    std::vector<std::jthread> workers;
    for (int t = 0; t < threads; ++t)
      workers.emplace_back([&made, t, ids = id_minter{make_owner_mark("n1")}] {
        made[t].reserve(per_thread);
        for (int i = 0; i < per_thread; ++i)
          made[t].push_back(ids.run().value);
      });
  }
  std::set<std::string> all;
  std::size_t same_millisecond = 0;
  for (auto& ids : made) {
    for (std::size_t i = 1; i < ids.size(); ++i) {
      BOOST_TEST_REQUIRE(ids[i - 1] < ids[i]);
      same_millisecond += ids[i - 1].substr(2, 13) == ids[i].substr(2, 13);
    }
    all.insert(ids.begin(), ids.end());
    for (auto& id : ids) {
      BOOST_TEST_REQUIRE(std::regex_match(id.substr(2), uuid_shape));
      BOOST_TEST_REQUIRE(owner_of_id(id)->value == make_owner_mark("n1").value);
    }
  }
  BOOST_TEST(all.size() == std::size_t{threads * per_thread});
  // The loop is tight enough that the within-a-millisecond path is what was tested.
  BOOST_TEST(same_millisecond > std::size_t{per_thread});
  // A single node's ids, unmarked, too.
  id_minter single;
  auto a = single.event().value, b = single.event().value;
  BOOST_TEST(a < b);
}

BOOST_AUTO_TEST_CASE(every_mark_is_in_range_and_the_same_on_every_node) {
  std::set<std::uint16_t> seen;
  for (int i = 0; i < 200; ++i) {
    auto m = make_owner_mark("node-" + std::to_string(i));
    BOOST_TEST(m.value >= 1);
    BOOST_TEST(m.value <= max_owner_mark);
    BOOST_TEST(make_owner_mark("node-" + std::to_string(i)).value == m.value);
    seen.insert(m.value);
  }
  BOOST_TEST(seen.size() > 190u); // a hash, not a counter
}

BOOST_AUTO_TEST_CASE(unmarked_or_malformed_ids_and_tokens_name_no_owner) {
  // A plain 256-bit token never ends with 'B' (its last character holds 4 bits and 2 zeros).
  for (int i = 0; i < 500; ++i)
    BOOST_TEST(!owner_of_token(make_link_token()));
  BOOST_TEST(!owner_of_id("r-"));
  BOOST_TEST(!owner_of_id("r-0190f1e2-3c4d-7zzz-8abc-0123456789ab"));
  BOOST_TEST(!owner_of_id("r-0190f1e2-3c4d-7000-8abc-0123456789ab")); // mark 0: none
  BOOST_TEST(!owner_of_id("nothing"));
  BOOST_TEST(!owner_of_token("short"));
  BOOST_TEST(!owner_of_token("AA" + std::string(40, 'x') + "B")); // mark 0
  BOOST_TEST(owner_of_id("r-0190f1e2-3c4d-7abc-8abc-0123456789ab")->value == 0xabc);
}
