#include "persistence/delivery_log.hpp"

#define BOOST_TEST_MODULE delivery_log
#include <boost/test/unit_test.hpp>

using namespace rundun;
using namespace rundun::persistence;

namespace {

time_point at_ms(std::int64_t ms) {
  return from_unix_ms(ms);
}

} // namespace

BOOST_AUTO_TEST_CASE(a_step_survives_its_encoding_whole) {
  delivery_step s;
  s.attempt = attempt_record{3, at_ms(1'700'000'000'123), 503, "http status 503", 42};
  s.status = delivery_status::pending;
  s.next_attempt_at = at_ms(1'700'000'600'000);
  s.round_failures = 3;
  auto back = decode_step(encode(s));
  BOOST_REQUIRE(back);
  BOOST_REQUIRE(back->attempt);
  BOOST_TEST(back->attempt->attempt == 3);
  BOOST_TEST(to_unix_ms(back->attempt->at) == 1'700'000'000'123);
  BOOST_TEST(*back->attempt->status_code == 503);
  BOOST_TEST(*back->attempt->error == "http status 503");
  BOOST_TEST(back->attempt->duration_ms == 42);
  BOOST_TEST((back->status == delivery_status::pending));
  BOOST_TEST(to_unix_ms(*back->next_attempt_at) == 1'700'000'600'000);
  BOOST_TEST(!back->error);
  BOOST_TEST(back->round_failures == 3);
}

BOOST_AUTO_TEST_CASE(a_step_without_an_attempt_is_small) {
  delivery_step s;
  s.status = delivery_status::failed;
  s.error = "endpoint_gone";
  auto bytes = encode(s);
  BOOST_TEST(bytes.size() < 24u);
  auto back = decode_step(bytes);
  BOOST_REQUIRE(back);
  BOOST_TEST(!back->attempt);
  BOOST_TEST(*back->error == "endpoint_gone");
}

BOOST_AUTO_TEST_CASE(bytes_that_are_not_a_step_are_refused) {
  delivery_step s;
  s.attempt = attempt_record{1, at_ms(5), std::nullopt, "timeout", 10'000};
  auto bytes = encode(s);
  BOOST_TEST(!decode_step(""));
  BOOST_TEST(!decode_step(bytes.substr(0, bytes.size() - 1)));
  BOOST_TEST(!decode_step(bytes + "x"));
  auto other_version = bytes;
  other_version[0] = 9;
  BOOST_TEST(!decode_step(other_version));
}

BOOST_AUTO_TEST_CASE(folding_the_log_gives_the_events_state) {
  delivery_state d; // as made: pending, due at creation
  d.next_attempt_at = at_ms(1000);
  delivery_state before = d;
  delivery_state after = d;
  after.attempts.push_back({1, at_ms(1000), 500, "http status 500", 5});
  after.round_failures = 1;
  after.next_attempt_at = at_ms(31'000);
  auto first = step_between(before, after);
  BOOST_TEST(first.attempt.has_value());
  fold(d, first);
  delivery_state delivered = after;
  delivered.attempts.push_back({2, at_ms(31'000), 204, std::nullopt, 3});
  delivered.status = delivery_status::delivered;
  delivered.next_attempt_at.reset();
  fold(d, step_between(after, delivered));
  BOOST_TEST(d.attempts.size() == 2u);
  BOOST_TEST((d.status == delivery_status::delivered));
  BOOST_TEST(!d.next_attempt_at);
  BOOST_TEST(d.round_failures == 1);
  BOOST_TEST(*d.attempts[1].status_code == 204);
}

BOOST_AUTO_TEST_CASE(an_events_steps_sort_together_and_in_order) {
  BOOST_TEST(step_key(7, 9) < step_key(7, 10));
  BOOST_TEST(step_key(7, 1'000) < step_key(8, 1));
  BOOST_TEST(step_key(7, 9).starts_with(step_prefix(7)));
  BOOST_TEST(!step_key(8, 9).starts_with(step_prefix(7)));
}
