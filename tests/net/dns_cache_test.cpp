#include "net/dns_cache.hpp"

#define BOOST_TEST_MODULE dns_cache
#include <boost/test/unit_test.hpp>

using namespace rundun::net;
using namespace std::chrono_literals;

namespace {

/// A fixed starting time: the tests move their own clock.
const dns_cache::clock::time_point t0{std::chrono::hours{1000}};

address_list loopback() {
  return {boost::asio::ip::make_address("127.0.0.1")};
}

} // namespace

BOOST_AUTO_TEST_SUITE(dns_cache_suite)

BOOST_AUTO_TEST_CASE(an_answer_is_kept_until_its_ttl_runs_out) {
  dns_cache cache;
  cache.insert("a.test", loopback(), t0 + 30s);
  auto hit = cache.find("a.test", t0 + 29s);
  BOOST_REQUIRE(hit);
  BOOST_TEST(hit->front().to_string() == "127.0.0.1");
  BOOST_TEST(!cache.find("a.test", t0 + 30s));
  BOOST_TEST(cache.size() == 0u); // the expired answer was dropped, not kept
}

BOOST_AUTO_TEST_CASE(an_unknown_name_is_a_miss) {
  dns_cache cache;
  BOOST_TEST(!cache.find("a.test", t0));
}

BOOST_AUTO_TEST_CASE(a_new_answer_replaces_the_old_one_and_its_ttl) {
  dns_cache cache;
  cache.insert("a.test", loopback(), t0 + 1s);
  cache.insert("a.test", {boost::asio::ip::make_address("192.0.2.1")}, t0 + 60s);
  BOOST_TEST(cache.size() == 1u);
  auto hit = cache.find("a.test", t0 + 30s);
  BOOST_REQUIRE(hit);
  BOOST_TEST(hit->front().to_string() == "192.0.2.1");
}

BOOST_AUTO_TEST_CASE(a_full_cache_evicts_the_least_recently_used_name) {
  dns_cache cache{3};
  cache.insert("a.test", loopback(), t0 + 60s);
  cache.insert("b.test", loopback(), t0 + 60s);
  cache.insert("c.test", loopback(), t0 + 60s);
  BOOST_TEST(cache.find("a.test", t0).has_value()); // a is now used more recently than b
  cache.insert("d.test", loopback(), t0 + 60s);
  BOOST_TEST(cache.size() == 3u);
  BOOST_TEST(!cache.find("b.test", t0));
  BOOST_TEST(cache.find("a.test", t0).has_value());
  BOOST_TEST(cache.find("c.test", t0).has_value());
  BOOST_TEST(cache.find("d.test", t0).has_value());
}

BOOST_AUTO_TEST_CASE(the_default_cache_holds_at_most_4096_names) {
  dns_cache cache;
  BOOST_TEST(cache.capacity() == default_dns_cache_capacity);
  for (std::size_t i = 0; i < default_dns_cache_capacity + 1000; ++i)
    cache.insert("host-" + std::to_string(i) + ".test", loopback(), t0 + 60s);
  BOOST_TEST(cache.size() == default_dns_cache_capacity);
  BOOST_TEST(!cache.find("host-0.test", t0));
  BOOST_TEST(cache.find("host-5095.test", t0).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
