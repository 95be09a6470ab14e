#include "api/list_views.hpp"

#define BOOST_TEST_MODULE list_views
#include <boost/test/unit_test.hpp>

using namespace rundun;
using namespace rundun::api;

namespace {

endpoint_health endpoint(const std::string& url, bool failing) {
  endpoint_health e;
  e.url = url;
  if (failing)
    e.stats.failing_since = from_unix_ms(1000);
  return e;
}

} // namespace

BOOST_AUTO_TEST_CASE(an_endpoint_shows_its_figures_and_nulls_where_nothing_happened) {
  auto e = endpoint("https://a/", false);
  e.stats.pending = 2;
  e.stats.recovering = 1;
  e.recovery_remaining = 4;
  e.in_flight = 1;
  auto v = endpoint_view(e);
  BOOST_TEST(v.at("pending") == 2);
  BOOST_TEST(v.at("in_flight") == 1);
  BOOST_TEST(v.at("recovering") == 5);
  BOOST_TEST(v.at("last_attempt").is_null());
  BOOST_TEST(v.at("failing_since").is_null());
  BOOST_TEST(v.at("next_attempt_at").is_null());
}

BOOST_AUTO_TEST_CASE(a_failing_endpoint_shows_since_when) {
  auto v = endpoint_view(endpoint("https://a/", true));
  BOOST_TEST(v.at("url") == "https://a/");
  BOOST_TEST(v.at("failing_since") == "1970-01-01T00:00:01Z");
}
