#include "api/cluster_placement.hpp"

#define BOOST_TEST_MODULE cluster_placement
#include <boost/test/unit_test.hpp>

#include <map>
#include <string>
#include <vector>

using namespace rundun::api;

BOOST_AUTO_TEST_CASE(creations_are_placed_by_route) {
  BOOST_TEST((place("POST", "/v1/runs").what == placement::kind::create_run));
  BOOST_TEST((place("POST", "/v1/templates").what == placement::kind::create_template));
  BOOST_TEST((place("GET", "/v1/templates/t-1").what == placement::kind::template_id));
}

BOOST_AUTO_TEST_CASE(every_node_names_the_same_owner_for_a_key_whatever_its_list_order) {
  std::vector<std::string_view> abc{"a", "b", "c"}, cab{"c", "a", "b"};
  for (int i = 0; i < 200; ++i) {
    auto key = "key-" + std::to_string(i);
    BOOST_TEST(abc[key_owner(abc, key)] == cab[key_owner(cab, key)]);
  }
}

BOOST_AUTO_TEST_CASE(keys_spread_over_the_members_and_a_new_member_takes_only_its_own) {
  std::vector<std::string_view> three{"node-1", "node-2", "node-3"};
  std::vector<std::string_view> four{"node-1", "node-2", "node-3", "node-4"};
  std::map<std::string_view, int> won;
  constexpr int keys = 3000;
  int moved_elsewhere = 0;
  for (int i = 0; i < keys; ++i) {
    auto key = "order-" + std::to_string(i);
    auto before = three[key_owner(three, key)];
    auto after = four[key_owner(four, key)];
    ++won[before];
    if (after != before && after != "node-4")
      ++moved_elsewhere;
  }
  for (auto id : three)
    BOOST_TEST(won[id] > keys / 4, id << " owns " << won[id] << " of " << keys);
  BOOST_TEST(moved_elsewhere == 0);
  std::vector<std::string_view> one{"solo"};
  BOOST_TEST(key_owner(one, "anything") == 0u);
}
