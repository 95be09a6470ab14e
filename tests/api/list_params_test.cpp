#include "api/list_params.hpp"

#define BOOST_TEST_MODULE list_params
#include <boost/test/unit_test.hpp>

using namespace rundun;
using namespace rundun::api;

namespace {

const cursor_codec cursors{"0123abcd"};

} // namespace

BOOST_AUTO_TEST_CASE(a_cursor_reads_back_only_for_its_list_its_filters_and_its_key) {
  list_position at{1'764'504'000'123, "evt-01a2"};
  auto c = cursors.encode(list_kind::events, "status=failed", at);
  BOOST_TEST(
      c.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
      std::string::npos); // goes into a query string as it is
  auto back = cursors.decode(list_kind::events, "status=failed", c);
  BOOST_REQUIRE(back);
  BOOST_TEST(back->ms == at.ms);
  BOOST_TEST(back->id == at.id);
  BOOST_TEST(!cursors.decode(list_kind::runs, "status=failed", c));
  BOOST_TEST(!cursors.decode(list_kind::events, "status=pending", c));
  BOOST_TEST(!cursor_codec{"another key"}.decode(list_kind::events, "status=failed", c));
  for (std::size_t i = 0; i < c.size(); ++i) {
    auto altered = c;
    altered[i] = altered[i] == 'x' ? 'y' : 'x';
    BOOST_TEST(!cursors.decode(list_kind::events, "status=failed", altered), i);
  }
  BOOST_TEST(!cursors.decode(list_kind::events, "status=failed", ""));
  BOOST_TEST(!cursors.decode(list_kind::events, "status=failed", "%%%"));
}

BOOST_AUTO_TEST_CASE(filters_are_read_and_bound_to_the_cursor_in_a_canonical_order) {
  auto p = parse_event_list("/v1/events?type=run.expired&status=failed&limit=7&"
                            "endpoint=https%3A%2F%2Fshop.example%2Fhooks&"
                            "created_after=2026-05-22T08:32:00.5Z",
                            cursors);
  BOOST_REQUIRE(p);
  BOOST_TEST(p->page.request.limit == 7u);
  BOOST_TEST((*p->filter.status == delivery_status::failed));
  BOOST_TEST((*p->filter.type == event_type::run_expired));
  BOOST_TEST(*p->endpoint_url == "https://shop.example/hooks");
  BOOST_TEST(format_rfc3339(*p->filter.created_after) == "2026-05-22T08:32:00.500Z");
  BOOST_TEST(p->page.filters == "created_after=2026-05-22T08:32:00.5Z&"
                                "endpoint=https://shop.example/hooks&status=failed&"
                                "type=run.expired");
  // The same filters in another order, with another limit, take the cursor.
  auto c = cursors.encode(list_kind::events, p->page.filters, {5, "evt-1"});
  auto again = parse_event_list("/v1/events?status=failed&type=run.expired&"
                                "created_after=2026-05-22T08:32:00.5Z&"
                                "endpoint=https://shop.example/hooks&limit=2&cursor=" +
                                    c,
                                cursors);
  BOOST_REQUIRE(again);
  BOOST_TEST(again->page.request.after->id == "evt-1");
  BOOST_TEST(parse_run_list("/v1/runs", cursors)->page.request.limit == 50u);
}

BOOST_AUTO_TEST_CASE(a_value_that_holds_separators_never_reads_as_two_filters) {
  // An endpoint URL whose query holds `&status=failed` is one filter, not two: the two
  // requests have different canonical texts, so a cursor of one is refused by the other.
  auto one = parse_event_list(
      "/v1/events?endpoint=https%3A%2F%2Fa.example%2F%3Fx%26status%3Dfailed", cursors);
  auto two =
      parse_event_list("/v1/events?endpoint=https%3A%2F%2Fa.example%2F%3Fx&status=failed", cursors);
  BOOST_REQUIRE(one);
  BOOST_REQUIRE(two);
  BOOST_TEST(*one->endpoint_url == "https://a.example/?x&status=failed");
  BOOST_TEST(one->page.filters == "endpoint=https://a.example/?x%26status%3Dfailed");
  BOOST_TEST(two->page.filters == "endpoint=https://a.example/?x&status=failed");
  auto c = cursors.encode(list_kind::events, one->page.filters, {5, "evt-1"});
  auto with_two = parse_event_list(
      "/v1/events?endpoint=https%3A%2F%2Fa.example%2F%3Fx&status=failed&cursor=" + c, cursors);
  BOOST_REQUIRE(!with_two);
  BOOST_TEST(with_two.error().code == "invalid_cursor");
  auto with_one = parse_event_list(
      "/v1/events?endpoint=https%3A%2F%2Fa.example%2F%3Fx%26status%3Dfailed&cursor=" + c, cursors);
  BOOST_REQUIRE(with_one);
  // A literal % is escaped too, so that an escape cannot be spelt by hand.
  auto percent = parse_event_list("/v1/events?endpoint=https%3A%2F%2Fa.example%2F%2526", cursors);
  BOOST_REQUIRE(percent);
  BOOST_TEST(percent->page.filters == "endpoint=https://a.example/%2526");
}

BOOST_AUTO_TEST_CASE(a_bad_parameter_is_named_in_the_refusal) {
  auto refusal = [](outcome<run_list_params> r) {
    BOOST_REQUIRE(!r);
    return r.error().code + ": " + r.error().message;
  };
  BOOST_TEST(refusal(parse_run_list("/v1/runs?limit=0", cursors)).find("limit") !=
             std::string::npos);
  BOOST_TEST(
      refusal(parse_run_list("/v1/runs?status=gone", cursors)).find("status must be one of") !=
      std::string::npos);
  BOOST_TEST(refusal(parse_run_list("/v1/runs?created_before=2026-02-30T00:00:00Z", cursors))
                 .find("created_before") != std::string::npos);
  BOOST_TEST(refusal(parse_run_list("/v1/runs?created_after=2026-05-02T00:00:00Z&"
                                    "created_before=2026-05-01T00:00:00Z",
                                    cursors))
                 .find("created_after must be earlier") != std::string::npos);
  BOOST_TEST(refusal(parse_run_list("/v1/runs?cursor=abc", cursors)).find("invalid_cursor") == 0u);
  BOOST_TEST(refusal(parse_run_list("/v1/runs?template_id=", cursors)).find("template_id") !=
             std::string::npos);
  BOOST_TEST(!parse_endpoint_list("/v1/endpoints?status=ok", cursors));
  BOOST_TEST((parse_endpoint_list("/v1/endpoints?status=failing", cursors)->status ==
              endpoint_health_filter::failing));
}

BOOST_AUTO_TEST_CASE(an_endpoint_status_filter_lists_one_rank_and_none_lists_every_rank) {
  BOOST_TEST((rank_filter(endpoint_health_filter::failing) == endpoint_rank::failing));
  BOOST_TEST((rank_filter(endpoint_health_filter::healthy) == endpoint_rank::healthy));
  BOOST_TEST(!rank_filter(endpoint_health_filter::any));
  BOOST_TEST(
      (parse_endpoint_list("/v1/endpoints", cursors)->status == endpoint_health_filter::any));
}

BOOST_AUTO_TEST_CASE(rfc_3339_times_are_read_with_fractions_and_offsets) {
  BOOST_TEST(format_rfc3339(*parse_rfc3339("2026-05-22T08:32:00Z")) == "2026-05-22T08:32:00Z");
  BOOST_TEST(format_rfc3339(*parse_rfc3339("2026-05-22t10:32:00.25+02:00")) ==
             "2026-05-22T08:32:00.250Z");
  BOOST_TEST(format_rfc3339(*parse_rfc3339("2026-05-22T08:32:00.123456Z")) ==
             "2026-05-22T08:32:00.123Z");
  for (auto bad : {"2026-05-22", "2026-05-22T08:32:00", "2026-13-01T00:00:00Z",
                   "2026-02-29T00:00:00Z", "2026-05-22T24:00:00Z", "2026-05-22T08:32:00.Z",
                   "2026-05-22T08:32:00Zjunk", " 2026-05-22T08:32:00Z"})
    BOOST_TEST(!parse_rfc3339(bad), bad);
}
