#include "net/retry_policy.hpp"

#define BOOST_TEST_MODULE retry_policy
#include <boost/test/unit_test.hpp>

using namespace rundun::net;
using namespace std::chrono;

BOOST_AUTO_TEST_CASE(the_default_schedule_makes_six_attempts) {
  auto s = default_retry_schedule();
  BOOST_TEST(s.max_attempts() == 6);
  BOOST_TEST((s.longest() == milliseconds{hours{6}}));
}

BOOST_AUTO_TEST_CASE(parses_schedules_and_durations) {
  auto s = parse_retry_schedule("30s,2m,10m,1h,6h");
  BOOST_REQUIRE(s);
  BOOST_TEST(s->delays.size() == 5u);
  BOOST_TEST((s->delays[1] == milliseconds{minutes{2}}));
  BOOST_TEST((parse_duration("250ms")->count() == 250));
  BOOST_TEST(!parse_duration("10"));
  BOOST_TEST(!parse_duration("s"));
  BOOST_TEST(!parse_duration("1.5s"));
  BOOST_TEST(!parse_duration("-1s"));
  BOOST_TEST((parse_duration("3d")->count() == 3 * 86'400'000));
  BOOST_TEST(!parse_duration("3w"));
  BOOST_TEST(!parse_retry_schedule(""));
  BOOST_TEST(!parse_retry_schedule("1s,"));
  BOOST_TEST(!parse_retry_schedule("1s,,2s"));
}

BOOST_AUTO_TEST_CASE(a_2xx_is_delivered) {
  auto s = default_retry_schedule();
  BOOST_TEST((decide_retry(s, 1, {200, {}}, 0.5).what == verdict::delivered));
  BOOST_TEST((decide_retry(s, 1, {204, {}}, 0.5).what == verdict::delivered));
}

BOOST_AUTO_TEST_CASE(failures_follow_the_schedule_then_fail) {
  auto s = default_retry_schedule();
  attempt_outcome refused{}; // no response at all
  BOOST_TEST((decide_retry(s, 1, refused, 0).delay == milliseconds{seconds{30}}));
  BOOST_TEST((decide_retry(s, 2, refused, 0).delay == milliseconds{minutes{2}}));
  BOOST_TEST((decide_retry(s, 5, refused, 0).delay == milliseconds{hours{6}}));
  BOOST_TEST((decide_retry(s, 6, refused, 0).what == verdict::failed));
}

BOOST_AUTO_TEST_CASE(a_redirect_is_a_failure) {
  auto d = decide_retry(default_retry_schedule(), 1, {301, {}}, 0);
  BOOST_TEST((d.what == verdict::retry));
}

BOOST_AUTO_TEST_CASE(gone_turns_the_webhook_off_at_once) {
  auto d = decide_retry(default_retry_schedule(), 1, {410, {}}, 0);
  BOOST_TEST((d.what == verdict::gone));
}

BOOST_AUTO_TEST_CASE(jitter_lengthens_by_at_most_ten_percent) {
  auto s = default_retry_schedule();
  BOOST_TEST((decide_retry(s, 1, {500, {}}, 0.0).delay == milliseconds{30'000}));
  BOOST_TEST((decide_retry(s, 1, {500, {}}, 0.999999).delay <= milliseconds{33'000}));
  BOOST_TEST((decide_retry(s, 1, {500, {}}, 0.5).delay == milliseconds{31'500}));
}

BOOST_AUTO_TEST_CASE(retry_after_is_honoured_on_429_and_503_only) {
  auto s = default_retry_schedule();
  attempt_outcome asks{429, milliseconds{minutes{5}}};
  BOOST_TEST((decide_retry(s, 1, asks, 0).delay == milliseconds{minutes{5}}));
  asks.status = 503;
  BOOST_TEST((decide_retry(s, 1, asks, 0).delay == milliseconds{minutes{5}}));
  asks.status = 500;
  BOOST_TEST((decide_retry(s, 1, asks, 0).delay == milliseconds{seconds{30}}));
}

BOOST_AUTO_TEST_CASE(retry_after_never_shortens_and_is_capped_at_the_longest_delay) {
  auto s = default_retry_schedule();
  BOOST_TEST((decide_retry(s, 2, {429, milliseconds{1000}}, 0).delay == milliseconds{minutes{2}}));
  BOOST_TEST(
      (decide_retry(s, 1, {503, milliseconds{hours{48}}}, 0).delay == milliseconds{hours{6}}));
  // The jitter applies after the cap.
  BOOST_TEST(decide_retry(s, 1, {503, milliseconds{hours{48}}}, 0.5).delay ==
             milliseconds{hours{6}} + milliseconds{minutes{18}});
}
