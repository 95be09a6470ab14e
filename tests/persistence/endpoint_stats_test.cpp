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

BOOST_AUTO_TEST_CASE(a_run_of_failures_owes_failing_once_and_recovered_once) {
  endpoint_stats s;
  auto waiting = with_attempts({{1000, 500}}, delivery_status::pending);
  account(s, nullptr, &waiting);
  BOOST_TEST(s.owed.empty()); // failing, but no event has failed after its last attempt
  auto failed = with_attempts({{1000, 500}, {2000, 503}}, delivery_status::failed);
  account(s, &waiting, &failed);
  BOOST_REQUIRE(s.owed.size() == 1u);
  BOOST_TEST((s.owed[0].type == notice_type::failing));
  BOOST_TEST(to_unix_ms(*s.owed[0].failing_since) == 1000);
  BOOST_TEST(*s.owed[0].last_attempt->status_code == 503);
  BOOST_TEST(s.failing_noticed);
  // Another event failing in the same run owes nothing more, nor does one failed unsent.
  auto other = with_attempts({{3000, 500}}, delivery_status::failed);
  account(s, nullptr, &other);
  auto gone = with_attempts({}, delivery_status::failed);
  gone.delivery.error = "endpoint_gone";
  account(s, nullptr, &gone);
  BOOST_TEST(s.owed.size() == 1u);
  // A 2xx ends the run: recovered, once.
  auto ok = with_attempts({{4000, 200}}, delivery_status::delivered);
  account(s, nullptr, &ok);
  BOOST_REQUIRE(s.owed.size() == 2u);
  BOOST_TEST((s.owed[1].type == notice_type::recovered));
  BOOST_TEST(to_unix_ms(*s.owed[1].failing_since) == 1000);
  BOOST_TEST(to_unix_ms(s.owed[1].at) == 4000);
  BOOST_TEST(!s.failing_noticed);
  account(s, nullptr, &ok);
  BOOST_TEST(s.owed.size() == 2u);
  // A run of failures that nobody heard of ends without a notice.
  auto blip = with_attempts({{5000, 500}}, delivery_status::pending);
  account(s, nullptr, &blip);
  auto fine = with_attempts({{6000, 200}}, delivery_status::delivered);
  account(s, nullptr, &fine);
  BOOST_TEST(s.owed.size() == 2u);
}

BOOST_AUTO_TEST_CASE(disabling_and_enabling_owe_their_notices_and_survive_encoding) {
  endpoint_stats s;
  auto waiting = with_attempts({{1000, 500}}, delivery_status::pending);
  account(s, nullptr, &waiting);
  BOOST_TEST(disable(s, from_unix_ms(9000)));
  BOOST_TEST(!disable(s, from_unix_ms(9500)));
  BOOST_REQUIRE(s.owed.size() == 1u);
  BOOST_TEST((s.owed[0].type == notice_type::disabled));
  BOOST_TEST(s.owed[0].failed_events == 1u); // the pending one, failed as it is disabled
  auto back = decode_endpoint_stats(encode(s));
  BOOST_REQUIRE(back);
  BOOST_TEST(to_unix_ms(*back->disabled_at) == 9000);
  BOOST_TEST(back->failing_noticed);
  BOOST_TEST(back->owed.empty()); // never stored
  // A 2xx in flight when it was disabled owes nothing: the recovery does.
  auto ok = with_attempts({{9100, 200}}, delivery_status::delivered);
  account(s, &waiting, &ok);
  BOOST_TEST(s.owed.size() == 1u);
  BOOST_TEST(enable(s, from_unix_ms(10000)));
  BOOST_TEST(!enable(s, from_unix_ms(10001)));
  BOOST_REQUIRE(s.owed.size() == 2u);
  BOOST_TEST((s.owed[1].type == notice_type::recovered));
  BOOST_TEST(!s.disabled_at);
  BOOST_TEST(!s.failing_since);
  BOOST_TEST(!s.failing_noticed);
}
