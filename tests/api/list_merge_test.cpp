#include "api/list_merge.hpp"

#define BOOST_TEST_MODULE list_merge
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

using namespace rundun;
using namespace rundun::api;
namespace json = boost::json;

namespace {

const cursor_codec cursors{"hash"};

json::object event(const std::string& id, const std::string& at) {
  return {{"event_id", id}, {"created_at", at}};
}

json::object page_of(std::initializer_list<json::object> items, std::optional<list_position> next,
                     const page_params& p) {
  json::array a;
  for (auto& i : items)
    a.push_back(i);
  return {{"events", a},
          {"next_cursor", next ? json::value(cursors.encode(list_kind::events, p.filters, *next))
                               : json::value(nullptr)}};
}

std::vector<std::string> ids(const json::object& body) {
  std::vector<std::string> out;
  for (auto& e : body.at("events").as_array())
    out.emplace_back(e.at("event_id").as_string());
  return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(pages_merge_newest_first_and_stop_where_a_node_stopped_early) {
  page_params p;
  p.request.limit = 2;
  p.filters = "status=failed";
  // Node b's page ended early (its scan budget) at 10:00:05: nothing older than that is
  // known for it, so nothing older is kept from a either.
  auto b_stop = list_position{to_unix_ms(*parse_rfc3339("2026-05-22T10:00:05Z")), "evt-b0"};
  std::vector<node_answer> answers{
      {"a",
       page_of({event("evt-a1", "2026-05-22T10:00:09Z"), event("evt-a2", "2026-05-22T10:00:06Z"),
                event("evt-a3", "2026-05-22T10:00:01Z")},
               list_position{1, "x"}, p),
       200},
      {"b", page_of({event("evt-b1", "2026-05-22T10:00:08Z")}, b_stop, p), 200},
      {"c", std::nullopt, 0}};
  auto merged = merge_item_pages(list_kind::events, "events", answers, p, cursors);
  BOOST_TEST(ids(merged) == (std::vector<std::string>{"evt-a1", "evt-b1"}),
             boost::test_tools::per_element());
  auto next = cursors.decode(list_kind::events, p.filters, merged.at("next_cursor").as_string());
  BOOST_REQUIRE(next);
  BOOST_TEST(next->id == "evt-b1");
  BOOST_TEST(merged.at("unavailable_nodes") == json::array{"c"});
  // Fewer than the limit before the stop: the next page starts at the stop.
  p.request.limit = 10;
  auto short_page = merge_item_pages(list_kind::events, "events", answers, p, cursors);
  BOOST_TEST(ids(short_page) == (std::vector<std::string>{"evt-a1", "evt-b1", "evt-a2"}),
             boost::test_tools::per_element()); // not evt-a3: older than b's stop
  BOOST_TEST(
      cursors.decode(list_kind::events, p.filters, short_page.at("next_cursor").as_string())->id ==
      "evt-b0");
}

BOOST_AUTO_TEST_CASE(one_endpoint_on_several_nodes_is_one_item_with_summed_figures) {
  auto on = [](std::uint64_t failed, json::value failing_since, json::object last) {
    return json::object{{"endpoints", json::array{json::object{{"url", "https://shop/"},
                                                               {"pending", 1},
                                                               {"in_flight", 0},
                                                               {"delivered", 2},
                                                               {"failed", failed},
                                                               {"last_attempt", last},
                                                               {"failing_since", failing_since},
                                                               {"next_attempt_at", nullptr},
                                                               {"recovering", 0}}}},
                        {"next_cursor", nullptr}};
  };
  std::vector<node_answer> answers{
      {"a", on(3, "2026-05-22T10:00:00Z", {{"at", "2026-05-22T10:05:00Z"}, {"status_code", 503}}),
       200},
      {"b", on(1, "2026-05-22T09:00:00Z", {{"at", "2026-05-22T10:01:00Z"}, {"error", "timeout"}}),
       200}};
  endpoint_list_params p;
  auto merged = merge_endpoints(answers, p, cursors).at("endpoints").as_array();
  BOOST_REQUIRE_EQUAL(merged.size(), 1u);
  BOOST_TEST(merged[0].at("failed") == 4);
  BOOST_TEST(merged[0].at("pending") == 2);
  BOOST_TEST(merged[0].at("failing_since") == "2026-05-22T09:00:00Z");
  BOOST_TEST(merged[0].at("last_attempt").at("status_code") == 503);
  // The latest attempt of all succeeded: the URL answers again.
  answers[1].body = on(0, nullptr, {{"at", "2026-05-22T10:06:00Z"}, {"status_code", 200}});
  auto healthy = merge_endpoints(answers, p, cursors).at("endpoints").as_array();
  BOOST_TEST(healthy[0].at("failing_since").is_null());
  p.status = endpoint_health_filter::failing;
  BOOST_TEST(merge_endpoints(answers, p, cursors).at("endpoints").as_array().empty());
}

BOOST_AUTO_TEST_CASE(endpoints_of_every_node_page_failing_first_then_by_url) {
  auto endpoint = [](const std::string& url, bool failing) {
    return json::object{
        {"url", url},
        {"pending", 0},
        {"failed", failing ? 1 : 0},
        {"last_attempt", nullptr},
        {"failing_since", failing ? json::value("2026-05-22T09:00:00Z") : json::value(nullptr)},
        {"next_attempt_at", nullptr}};
  };
  auto node = [](std::string id, std::initializer_list<json::object> items) {
    json::array a(items.begin(), items.end());
    return node_answer{std::move(id), json::object{{"endpoints", a}, {"next_cursor", nullptr}},
                       200};
  };
  std::vector<node_answer> answers{
      node("a", {endpoint("https://c/", true), endpoint("https://b/", false)}),
      node("b", {endpoint("https://d/", true), endpoint("https://a/", false)})};
  endpoint_list_params p;
  p.page.request.limit = 3;
  auto urls = [](const json::object& body) {
    std::vector<std::string> out;
    for (auto& e : body.at("endpoints").as_array())
      out.emplace_back(e.at("url").as_string());
    return out;
  };
  auto first = merge_endpoints(answers, p, cursors);
  BOOST_TEST(urls(first) == (std::vector<std::string>{"https://c/", "https://d/", "https://a/"}),
             boost::test_tools::per_element());
  // The cursor holds the last item's position as a single node gives it: (rank, URL).
  auto at =
      cursors.decode(list_kind::endpoints, p.page.filters, first.at("next_cursor").as_string());
  BOOST_REQUIRE(at);
  BOOST_TEST((*at == endpoint_position(endpoint_rank::healthy, "https://a/")));
  p.page.request.after = at;
  auto second = merge_endpoints(answers, p, cursors);
  BOOST_TEST(urls(second) == std::vector<std::string>{"https://b/"},
             boost::test_tools::per_element());
  BOOST_TEST(second.at("next_cursor").is_null());
}

BOOST_AUTO_TEST_CASE(recoveries_are_summed_and_unknown_everywhere_is_not_found) {
  bool found = true;
  std::vector<node_answer> none{{"a", json::object{{"error", json::object{}}}, 404}};
  merge_recoveries(none, found);
  BOOST_TEST(!found);
  std::vector<node_answer> some{
      {"a", json::object{{"recovering", 2}, {"skipped_webhook_disabled", 1}}, 202},
      {"b", json::object{{"recovering", 3}, {"skipped_webhook_disabled", 0}}, 202}};
  auto merged = merge_recoveries(some, found);
  BOOST_TEST(found);
  BOOST_TEST(merged.at("recovering") == 5);
  BOOST_TEST(merged.at("skipped_webhook_disabled") == 1);
}

BOOST_AUTO_TEST_CASE(a_recovery_still_running_on_any_node_refuses_for_the_cluster) {
  auto started = [](const char* node) {
    return node_answer{node, json::object{{"recovering", 1}, {"skipped_webhook_disabled", 0}}, 202};
  };
  auto refusal = [](const char* node, unsigned status, const char* code) {
    return node_answer{node, json::object{{"error", json::object{{"code", code}}}}, status};
  };
  // Started everywhere, or unknown somewhere, or a node down: merged, not refused.
  BOOST_TEST(!recovery_refusal({started("a"), started("b")}));
  BOOST_TEST(!recovery_refusal({started("a"), refusal("b", 404, "endpoint_not_found")}));
  BOOST_TEST(!recovery_refusal({started("a"), node_answer{"b", std::nullopt, 0}}));
  // One node's job still runs: its 409, even after another node's failure.
  std::vector<node_answer> busy{started("a"), refusal("b", 500, "storage_error"),
                                refusal("c", 409, "recovery_in_progress")};
  auto* r = recovery_refusal(busy);
  BOOST_REQUIRE(r);
  BOOST_TEST(r->node == "c");
  BOOST_TEST(r->status == 409u);
  // Any other refusal is passed on as the first node gave it.
  std::vector<node_answer> bad{refusal("a", 400, "invalid_field"),
                               refusal("b", 400, "invalid_field")};
  BOOST_REQUIRE(recovery_refusal(bad));
  BOOST_TEST(recovery_refusal(bad)->node == "a");
}
