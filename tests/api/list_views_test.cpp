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

std::vector<std::string> urls(const list_page<endpoint_health>& p) {
  std::vector<std::string> out;
  for (auto& e : p.items)
    out.push_back(e.url);
  return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(endpoints_list_failing_first_then_by_url_and_page) {
  std::vector<endpoint_health> all{endpoint("https://b/", false), endpoint("https://c/", true),
                                   endpoint("https://a/", false), endpoint("https://d/", true)};
  list_request r;
  r.limit = 3;
  auto first = page_endpoints(all, endpoint_health_filter::any, r);
  BOOST_TEST(urls(first) == (std::vector<std::string>{"https://c/", "https://d/", "https://a/"}),
             boost::test_tools::per_element());
  BOOST_REQUIRE(first.next);
  r.after = first.next;
  auto second = page_endpoints(all, endpoint_health_filter::any, r);
  BOOST_TEST(urls(second) == std::vector<std::string>{"https://b/"},
             boost::test_tools::per_element());
  BOOST_TEST(!second.next);
  BOOST_TEST(urls(page_endpoints(all, endpoint_health_filter::healthy, {})) ==
                 (std::vector<std::string>{"https://a/", "https://b/"}),
             boost::test_tools::per_element());
  BOOST_TEST(page_endpoints(all, endpoint_health_filter::failing, {}).items.size() == 2u);
}

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
