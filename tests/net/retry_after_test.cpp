#include "net/retry_after.hpp"

#define BOOST_TEST_MODULE retry_after
#include <boost/test/unit_test.hpp>

using namespace rundun::net;
using namespace std::chrono;

namespace {
// Sun, 06 Nov 1994 08:49:37 GMT
const auto reference = system_clock::time_point{seconds{784111777}};
} // namespace

BOOST_AUTO_TEST_CASE(reads_delta_seconds) {
  BOOST_TEST(parse_retry_after("120", reference)->count() == 120'000);
  BOOST_TEST(parse_retry_after(" 0 ", reference)->count() == 0);
}

BOOST_AUTO_TEST_CASE(reads_the_three_http_date_forms) {
  BOOST_TEST(parse_retry_after("Sun, 06 Nov 1994 08:51:37 GMT", reference)->count() == 120'000);
  BOOST_TEST(parse_retry_after("Sunday, 06-Nov-94 08:51:37 GMT", reference)->count() == 120'000);
  BOOST_TEST(parse_retry_after("Sun Nov  6 08:51:37 1994", reference)->count() == 120'000);
}

BOOST_AUTO_TEST_CASE(a_date_in_the_past_is_no_delay) {
  BOOST_TEST(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", reference)->count() == 0);
}

BOOST_AUTO_TEST_CASE(refuses_anything_else) {
  BOOST_TEST(!parse_retry_after("", reference));
  BOOST_TEST(!parse_retry_after("-5", reference));
  BOOST_TEST(!parse_retry_after("1.5", reference));
  BOOST_TEST(!parse_retry_after("soon", reference));
  BOOST_TEST(!parse_retry_after("Sun, 32 Nov 1994 08:49:37 GMT", reference));
  BOOST_TEST(!parse_retry_after("Sun, 06 Nov 1994 08:49:37 PST", reference));
}

BOOST_AUTO_TEST_CASE(huge_values_do_not_overflow) {
  auto d = parse_retry_after("999999999999999999999", reference);
  BOOST_REQUIRE(d);
  BOOST_TEST(d->count() > 0);
}

BOOST_AUTO_TEST_CASE(dates_centuries_away_do_not_overflow) {
  // Found by fuzz_retry_after: the year 201 overflowed a nanosecond difference.
  BOOST_TEST(parse_retry_after("Wed, 21 Oct 201 07:28:00 GMT", reference)->count() == 0);
  BOOST_TEST(parse_retry_after("Wed, 21 Oct 9999 07:28:00 GMT", reference)->count() ==
             366LL * 24 * 3600 * 1000);
}
