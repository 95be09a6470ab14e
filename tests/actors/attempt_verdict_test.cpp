#include "actors/attempt_verdict.hpp"

#define BOOST_TEST_MODULE attempt_verdict
#include <boost/test/unit_test.hpp>

using namespace rundun;
using namespace std::chrono_literals;

namespace {

const net::retry_schedule schedule{{30s, 2min}};
const time_point t0 = from_unix_ms(1'700'000'000'000);

attempt_result result(int status, std::string error = {}) {
  return {1, t0, status, std::nullopt, std::move(error), 12};
}

} // namespace

BOOST_AUTO_TEST_CASE(a_2xx_is_delivered_and_its_step_says_so) {
  auto v = judge_attempt(result(204), 0, false, schedule, 0.0, t0 + 20ms);
  BOOST_TEST((v.what == net::verdict::delivered));
  BOOST_TEST(!v.retry_at);
  BOOST_TEST((v.step.status == delivery_status::delivered));
  BOOST_REQUIRE(v.step.attempt);
  BOOST_TEST(*v.step.attempt->status_code == 204);
  BOOST_TEST(!v.step.attempt->error);
  BOOST_TEST(!v.step.next_attempt_at);
}

BOOST_AUTO_TEST_CASE(a_failure_with_schedule_left_retries_at_the_scheduled_time) {
  auto v = judge_attempt(result(500), 0, false, schedule, 0.0, t0 + 20ms);
  BOOST_TEST((v.what == net::verdict::retry));
  BOOST_REQUIRE(v.retry_at);
  BOOST_TEST((*v.retry_at == t0 + 20ms + 30s));
  BOOST_TEST((v.step.status == delivery_status::pending));
  BOOST_TEST((*v.step.next_attempt_at == *v.retry_at));
  BOOST_TEST(v.step.round_failures == 1);
  BOOST_TEST(*v.step.attempt->error == "http status 500");
}

BOOST_AUTO_TEST_CASE(a_failure_that_ends_the_schedule_fails_the_event) {
  auto v = judge_attempt(result(0, "timeout"), 2, false, schedule, 0.0, t0);
  BOOST_TEST((v.what == net::verdict::failed));
  BOOST_TEST((v.step.status == delivery_status::failed));
  BOOST_TEST(!v.step.error);
  BOOST_TEST(!v.step.attempt->status_code);
  BOOST_TEST(*v.step.attempt->error == "timeout");
  BOOST_TEST(v.step.round_failures == 2);
}

BOOST_AUTO_TEST_CASE(a_410_or_a_failure_after_one_fails_with_endpoint_gone) {
  auto gone = judge_attempt(result(410), 0, false, schedule, 0.0, t0);
  BOOST_TEST((gone.what == net::verdict::gone));
  BOOST_TEST(*gone.step.error == "endpoint_gone");
  auto after = judge_attempt(result(500), 0, true, schedule, 0.0, t0);
  BOOST_TEST((after.what == net::verdict::gone));
  BOOST_TEST((after.step.status == delivery_status::failed));
}
