#include "persistence/endpoint_stats.hpp"

#define BOOST_TEST_MODULE endpoint_stats
#include <boost/test/unit_test.hpp>

using namespace rundun;

namespace {

event_record with_attempts(std::vector<std::pair<std::int64_t, int>> attempts,
                           delivery_status status) {
  event_record e;
  e.delivery.status = status;
  for (auto [at, code] : attempts) {
    attempt_record a;
    a.at = from_unix_ms(at);
    if (code)
      a.status_code = code;
    else
      a.error = "timeout";
    e.delivery.attempts.push_back(a);
  }
  return e;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_failure_before_the_latest_success_starts_no_run_of_failures) {
  // Attempts of different events end in any order, and a store being indexed accounts them
  // event by event: the figures must not depend on that order.
  endpoint_stats s;
  auto ok = with_attempts({{2000, 200}}, delivery_status::delivered);
  auto old_failure = with_attempts({{1000, 500}}, delivery_status::pending);
  account(s, nullptr, &ok);
  account(s, nullptr, &old_failure);
  BOOST_TEST(!s.failing_since);
  BOOST_TEST(to_unix_ms(s.last_attempt->at) == 2000);
  auto later = with_attempts({{3000, 0}, {2500, 503}}, delivery_status::failed);
  account(s, nullptr, &later);
  BOOST_TEST(to_unix_ms(*s.failing_since) == 2500); // the first of the run, not the first seen
  BOOST_TEST(to_unix_ms(s.last_attempt->at) == 3000);
  BOOST_TEST(s.delivered == 1u);
  BOOST_TEST(s.pending == 1u);
  BOOST_TEST(s.failed == 1u);
  auto again_ok = with_attempts({{3000, 0}, {2500, 503}, {4000, 204}}, delivery_status::delivered);
  account(s, &later, &again_ok);
  BOOST_TEST(!s.failing_since);
  BOOST_TEST(s.failed == 0u);
  BOOST_TEST(s.delivered == 2u);
}

BOOST_AUTO_TEST_CASE(figures_survive_their_encoding) {
  endpoint_stats s;
  auto e = with_attempts({{1000, 500}, {1500, 0}}, delivery_status::failed);
  account(s, nullptr, &e);
  s.recovering = 4;
  auto back = decode_endpoint_stats(encode(s));
  BOOST_REQUIRE(back);
  BOOST_TEST(back->failed == 1u);
  BOOST_TEST(back->recovering == 4u);
  BOOST_TEST(to_unix_ms(*back->failing_since) == 1000);
  BOOST_TEST(*back->last_attempt->error == "timeout");
  BOOST_TEST(!back->last_attempt->status_code);
  BOOST_TEST(!decode_endpoint_stats("{\"p\":"));
}
