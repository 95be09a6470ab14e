#include "api/metrics_text.hpp"

#include "tests/support/prometheus_text.hpp"

#define BOOST_TEST_MODULE metrics_text
#include <boost/test/unit_test.hpp>

using namespace rundun;
using namespace rundun::api;
using namespace rundun::test;
using namespace std::chrono_literals;

namespace {

std::string all_errors(const prometheus_text& m) {
  std::string out;
  for (auto& e : m.errors)
    out += e + "\n";
  return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_full_exposition_parses_strictly_and_keeps_its_figures) {
  latency_histogram delivery{delivery_latency_bounds};
  delivery.record(3ms);
  delivery.record(40ms);
  delivery.record(2h);

  engine_figures f;
  f.events_created[0] = 5;
  f.attempts_2xx = 3;
  f.attempts_refused = 1;
  f.delivered = 3;
  f.pending_total = 9;
  f.largest_backlogs = {{"hooks.example.com", 7}, {"odd\"host\\name", 2}};
  f.delivery_latency = delivery.read();
  f.signers_cached = 12;
  f.signers_capacity = 4096;
  // The API's own metrics, in prometheus-cpp's registry, recorded as requests are answered.
  api_metrics api;
  for (int i = 0; i < 4; ++i)
    api.count("/v1/runs", 201, 200us);
  api.count("/r/{token}/exit", 409, 3ms);
  api.set_open_connections(2);
  api.set_held_body_bytes(10 << 20);
  cluster_figures c;
  c.node_id = "n1";
  c.peers_up = {{"n2", true}, {"n3", false}};
  c.forwarded_answered = 6;

  auto families = engine_families(f);
  for (auto& more : {api.collect(), cluster_families(c)})
    families.insert(families.end(), more.begin(), more.end());
  auto text = render_metrics(families);
  auto m = parse_prometheus_text(text);
  BOOST_TEST_REQUIRE(m.errors.empty(), all_errors(m) << text);
  BOOST_TEST(m.value("rundun_events_created_total", {{"type", "step.completed"}}) == 5);
  BOOST_TEST(m.value("rundun_delivery_attempts_total", {{"outcome", "refused-destination"}}) == 1);
  BOOST_TEST(m.value("rundun_deliveries_pending") == 9);
  BOOST_TEST(m.value("rundun_signers_cached") == 12);
  BOOST_TEST(m.value("rundun_signers_capacity") == 4096);
  BOOST_TEST(m.value("rundun_endpoint_backlog", {{"host", "hooks.example.com"}}) == 7);
  // A label value is escaped on the way out and comes back whole.
  BOOST_TEST(m.value("rundun_endpoint_backlog", {{"host", "odd\"host\\name"}}) == 2);
  // Buckets are cumulative: 3 ms and 40 ms are under 0.05 s, all three under +Inf.
  BOOST_TEST(m.value("rundun_delivery_latency_seconds_bucket", {{"le", "0.005"}}) == 1);
  BOOST_TEST(m.value("rundun_delivery_latency_seconds_bucket", {{"le", "0.05"}}) == 2);
  BOOST_TEST(m.value("rundun_delivery_latency_seconds_bucket", {{"le", "3600"}}) == 2);
  BOOST_TEST(m.value("rundun_delivery_latency_seconds_bucket", {{"le", "+Inf"}}) == 3);
  BOOST_TEST(m.value("rundun_delivery_latency_seconds_count") == 3);
  BOOST_TEST(m.value("rundun_delivery_latency_seconds_sum") == 7200.043,
             boost::test_tools::tolerance(1e-9));
  BOOST_TEST(m.value("rundun_api_request_duration_seconds_count", {{"route", "/v1/runs"}}) == 4);
  BOOST_TEST(m.value("rundun_api_request_duration_seconds_bucket",
                     {{"route", "/r/{token}/exit"}, {"le", "0.0025"}}) == 0);
  BOOST_TEST(m.value("rundun_api_request_duration_seconds_bucket",
                     {{"route", "/r/{token}/exit"}, {"le", "0.005"}}) == 1);
  BOOST_TEST(m.value("rundun_api_requests_total", {{"route", "/v1/runs"}, {"status", "201"}}) == 4);
  BOOST_TEST(
      m.value("rundun_api_requests_total", {{"route", "/r/{token}/exit"}, {"status", "409"}}) == 1);
  BOOST_TEST(m.value("rundun_open_connections") == 2);
  BOOST_TEST(m.value("rundun_request_body_bytes_held") == 10 << 20);
  BOOST_TEST(m.value("rundun_cluster_node", {{"node_id", "n1"}}) == 1);
  BOOST_TEST(m.value("rundun_cluster_peer_up", {{"peer", "n3"}}) == 0);
  BOOST_TEST(m.value("rundun_cluster_forwarded_total", {{"outcome", "answered"}}) == 6);
}

BOOST_AUTO_TEST_CASE(the_parser_refuses_what_the_format_forbids) {
  // Each text breaks one rule; the strict parser must say so.
  const char* broken[] = {
      "rundun_x 1\n",                                                      // no TYPE
      "# TYPE rundun_x counter\nrundun_x -1\n",                            // negative counter
      "# TYPE rundun_x gauge\nrundun_x{a=\"1\"} 1\nrundun_x{a=\"1\"} 2\n", // duplicate series
      "# TYPE rundun_x gauge\nrundun_x{a=\"\\t\"} 1\n",                    // bad escape
      "# TYPE rundun_x gauge\nrundun_x{__a=\"1\"} 1\n",                    // reserved label name
      "# TYPE rundun_x gauge\nrundun_x one\n",                             // bad value
      "# TYPE rundun_x gauge\nrundun_x 1",                                 // no final line feed
      "# TYPE rundun_x gauge\n# TYPE rundun_x gauge\nrundun_x 1\n",        // TYPE twice
      "# TYPE rundun_x wobble\nrundun_x 1\n",                              // unknown type
      "# TYPE a gauge\n# TYPE b gauge\na 1\nb 1\na{l=\"2\"} 1\n",          // family split
      "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
      "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",    // no +Inf
      "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 1\n", // count
  };
  for (auto* text : broken)
    BOOST_TEST(!parse_prometheus_text(text).errors.empty(), "accepted: " << text);
  auto fine = parse_prometheus_text(
      "# HELP h A histogram.\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
      "h_sum 3.5\nh_count 2\n");
  BOOST_TEST(fine.errors.empty(), all_errors(fine));
}
