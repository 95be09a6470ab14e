#include "persistence/store.hpp"

#include "tests/support/server_process.hpp"

#define BOOST_TEST_MODULE idempotency_store
#include <boost/test/unit_test.hpp>

using namespace rundun;
using namespace rundun::persistence;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t day0 = 1'800'000'000'000;

idempotency_record key_at(const std::string& key, std::int64_t ms) {
  return {key, keyed_route::runs, "fingerprint", from_unix_ms(ms), false, "{}"};
}

struct store_fixture {
  test::temp_dir dir;
  std::unique_ptr<store> s = std::move(*store::open(dir.path()));

  void put(const idempotency_record& r) {
    BOOST_REQUIRE(!s->write_sync([&](write_batch& b) { return b.put_idempotency_key(r); }));
  }
  std::size_t expire(std::int64_t before_ms, std::size_t limit) {
    std::size_t removed = 0;
    BOOST_REQUIRE(!s->write_sync([&](write_batch& b) {
      return b.expire_idempotency_keys(from_unix_ms(before_ms), limit, removed);
    }));
    return removed;
  }
  bool has(const std::string& key) { return s->find_idempotency_key(key).value().has_value(); }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(idempotency_store, store_fixture)

BOOST_AUTO_TEST_CASE(keys_expire_oldest_first_a_slice_at_a_time) {
  BOOST_TEST(!s->oldest_idempotency_key().value());
  for (int i = 0; i < 5; ++i)
    put(key_at("k" + std::to_string(i), day0 + i * 1000));
  BOOST_TEST((*s->oldest_idempotency_key().value() == from_unix_ms(day0)));
  auto found = s->find_idempotency_key("k3").value();
  BOOST_REQUIRE(found);
  BOOST_TEST((found->created_at == from_unix_ms(day0 + 3000)));

  BOOST_TEST(expire(day0 + 3500, 2) == 2u); // k0, k1
  BOOST_TEST(!has("k0"));
  BOOST_TEST(!has("k1"));
  BOOST_TEST(has("k2"));
  BOOST_TEST(expire(day0 + 3500, 10) == 2u); // k2, k3; k4 is younger
  BOOST_TEST(has("k4"));
  BOOST_TEST((*s->oldest_idempotency_key().value() == from_unix_ms(day0 + 4000)));
  BOOST_TEST(expire(day0 + 3500, 10) == 0u);
}

BOOST_AUTO_TEST_CASE(a_key_stored_again_leaves_no_stale_expiry_behind) {
  put(key_at("again", day0));
  put(key_at("again", day0 + 25 * 3600 * 1000LL)); // used anew after its window
  // The old entry is gone: expiring everything before the new one removes nothing.
  BOOST_TEST(expire(day0 + 25 * 3600 * 1000LL, 10) == 0u);
  BOOST_TEST(has("again"));
  BOOST_TEST(expire(day0 + 26 * 3600 * 1000LL, 10) == 1u);
  BOOST_TEST(!has("again"));
}

BOOST_AUTO_TEST_SUITE_END()
