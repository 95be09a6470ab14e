#include "net/signer_cache.hpp"

#define BOOST_TEST_MODULE signer_cache
#include <boost/test/unit_test.hpp>

using namespace rundun::net;

BOOST_AUTO_TEST_CASE(a_cached_signer_signs_as_a_fresh_one) {
  signer_cache cache{4};
  auto secret = make_secret();
  auto* s = cache.get(secret);
  BOOST_REQUIRE(s);
  webhook_signer fresh{*parse_secret(secret)};
  BOOST_TEST(s->sign("evt-1", 1700000000, "{}") == fresh.sign("evt-1", 1700000000, "{}"));
  BOOST_TEST(cache.get(secret) == s); // the same signer, not a new one
  BOOST_TEST(cache.size() == 1u);
}

BOOST_AUTO_TEST_CASE(the_cache_never_holds_more_than_its_capacity) {
  signer_cache cache{3};
  for (int i = 0; i < 1000; ++i)
    BOOST_REQUIRE(cache.get(make_secret()));
  BOOST_TEST(cache.size() == 3u);
}

BOOST_AUTO_TEST_CASE(the_least_recently_used_secret_leaves_first) {
  signer_cache cache{2};
  auto a = make_secret(), b = make_secret(), c = make_secret();
  auto* sa = cache.get(a);
  cache.get(b);
  BOOST_TEST(cache.get(a) == sa); // a is now the most recent
  cache.get(c);                   // so b leaves
  BOOST_TEST(cache.size() == 2u);
  BOOST_TEST(cache.get(a) == sa);
  auto signature = cache.get(b)->sign("evt-1", 1, "x"); // b comes back, made anew
  BOOST_TEST(signature == webhook_signer{*parse_secret(b)}.sign("evt-1", 1, "x"));
}

BOOST_AUTO_TEST_CASE(a_malformed_secret_gets_no_signer) {
  signer_cache cache;
  BOOST_TEST(cache.get("not-a-secret") == nullptr);
  BOOST_TEST(cache.get("whsec_c2hvcnQ=") == nullptr); // 5 bytes: too short
  BOOST_TEST(cache.size() == 0u);
}
