#include "net/signer_cache.hpp"

#include <atomic>
#include <cstdint>
#include <set>
#include <string>
#include <thread>
#include <vector>

#define BOOST_TEST_MODULE signer_cache
#include <boost/test/unit_test.hpp>

using namespace rundun::net;

namespace {

/// Threads that share one cache in the concurrency cases: more than this machine's cores,
/// so that they interleave.
constexpr int sharing_threads = 8;
constexpr int gets_per_thread = 2000;

std::vector<std::string> make_secrets(std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i)
    out.push_back(make_secret());
  return out;
}

/// What a fresh signer of `secret` makes of a fixed message.
std::string expected_signature(const std::string& secret, std::string_view id) {
  return webhook_signer{*parse_secret(secret)}.sign(id, 1700000000, "{}");
}

} // namespace

BOOST_AUTO_TEST_CASE(the_same_secret_returns_the_same_signer) {
  signer_cache cache{4};
  auto secret = make_secret();
  auto s = cache.get(secret);
  BOOST_REQUIRE(s);
  BOOST_TEST(s->sign("evt-1", 1700000000, "{}") == expected_signature(secret, "evt-1"));
  BOOST_TEST(cache.get(secret) == s); // the same signer, not a new one
  BOOST_TEST(cache.size() == 1u);
}

BOOST_AUTO_TEST_CASE(the_cache_never_holds_more_than_its_capacity) {
  signer_cache cache{3};
  for (int i = 0; i < 1000; ++i) {
    BOOST_REQUIRE(cache.get(make_secret()));
    BOOST_REQUIRE(cache.size() <= 3u);
  }
  BOOST_TEST(cache.size() == 3u);
  BOOST_TEST(cache.capacity() == 3u);
}

BOOST_AUTO_TEST_CASE(the_default_bound_is_over_the_whole_engine_not_per_endpoint) {
  BOOST_TEST(signer_cache{}.capacity() == signer_cache::default_capacity);
  BOOST_TEST(signer_cache{0}.capacity() == 1u); // a cache holds at least one
}

BOOST_AUTO_TEST_CASE(the_least_recently_used_secret_leaves_first) {
  signer_cache cache{2};
  auto a = make_secret(), b = make_secret(), c = make_secret();
  auto sa = cache.get(a);
  auto sb = cache.get(b);
  BOOST_TEST(cache.get(a) == sa); // a is now the most recent
  auto sc = cache.get(c);         // so b leaves
  BOOST_TEST(cache.size() == 2u);
  BOOST_TEST(cache.get(a) == sa);
  BOOST_TEST(cache.get(c) == sc);
  auto sb_again = cache.get(b); // b comes back, made anew; a is the oldest now, and leaves
  BOOST_TEST(sb_again != sb);
  BOOST_TEST(sb_again->sign("evt-1", 1700000000, "{}") == expected_signature(b, "evt-1"));
  BOOST_TEST(cache.get(c) == sc);
  BOOST_TEST(cache.get(a) != sa);
}

BOOST_AUTO_TEST_CASE(a_signer_the_cache_dropped_stays_valid_for_its_holder) {
  signer_cache cache{1};
  auto a = make_secret();
  auto held = cache.get(a);
  cache.get(make_secret()); // a leaves the cache
  BOOST_TEST(held->sign("evt-1", 1700000000, "{}") == expected_signature(a, "evt-1"));
}

BOOST_AUTO_TEST_CASE(a_malformed_secret_gets_no_signer) {
  signer_cache cache;
  BOOST_TEST(cache.get("not-a-secret") == nullptr);
  BOOST_TEST(cache.get("whsec_c2hvcnQ=") == nullptr); // 5 bytes: too short
  BOOST_TEST(cache.size() == 0u);
}

BOOST_AUTO_TEST_CASE(threads_sharing_the_cache_get_one_signer_per_secret) {
  constexpr std::size_t secrets_used = 16;
  signer_cache cache{secrets_used};
  auto secrets = make_secrets(secrets_used);
  // Each thread notes the signer it got for each secret; all must agree.
  std::vector<std::vector<const webhook_signer*>> seen(
      sharing_threads, std::vector<const webhook_signer*>(secrets_used));
  std::vector<std::thread> threads;
  for (int t = 0; t < sharing_threads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < gets_per_thread; ++i) {
        auto k = static_cast<std::size_t>(i + t) % secrets_used;
        auto s = cache.get(secrets[k]);
        if (i < static_cast<int>(secrets_used))
          seen[t][k] = s.get();
      }
    });
  for (auto& t : threads)
    t.join();
  BOOST_TEST(cache.size() == secrets_used);
  for (std::size_t k = 0; k < secrets_used; ++k) {
    BOOST_TEST(seen[0][k] == cache.get(secrets[k]).get());
    for (int t = 1; t < sharing_threads; ++t)
      BOOST_TEST(seen[t][k] == seen[0][k]);
  }
}

BOOST_AUTO_TEST_CASE(threads_that_churn_the_cache_sign_right_and_keep_its_bound) {
  // Four times more secrets than room: most gets miss, evict and make a signer while other
  // threads sign with theirs, some of them just evicted.
  constexpr std::size_t capacity = 8;
  signer_cache cache{capacity};
  auto secrets = make_secrets(4 * capacity);
  std::vector<std::string> expected;
  for (auto& s : secrets)
    expected.push_back(expected_signature(s, "evt-1"));
  std::atomic<int> wrong{0}, over_bound{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < sharing_threads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < gets_per_thread; ++i) {
        auto k = static_cast<std::size_t>(i * 7 + t) % secrets.size();
        auto s = cache.get(secrets[k]);
        if (!s || s->sign("evt-1", 1700000000, "{}") != expected[k])
          ++wrong;
        if (cache.size() > capacity)
          ++over_bound;
      }
    });
  for (auto& t : threads)
    t.join();
  BOOST_TEST(wrong.load() == 0);
  BOOST_TEST(over_bound.load() == 0);
  BOOST_TEST(cache.size() == capacity);
}
