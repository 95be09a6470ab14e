// The lists, endpoint health and recovery of contract §8, from a real rundund to scripted
// receivers on loopback.

#include "tests/support/scripted_receiver.hpp"
#include "tests/support/server_process.hpp"

#define BOOST_TEST_MODULE lists
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <map>
#include <set>

using namespace rundun;
using namespace rundun::test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

struct lists_fixture {
  temp_dir dir;
  std::unique_ptr<server_process> server = start();
  api_client api = server->api();
  std::string tid = api.make_template(json::parse(R"({"name":"Checkout","steps":[
      {"id":"a","title":"A","required":false},{"id":"b","title":"B","required":false}]})"));

  std::unique_ptr<server_process> start() {
    return std::make_unique<server_process>(
        dir.str(),
        std::vector<std::string>{"--retry-schedule", "100ms,100ms", "--delivery-timeout", "1s"});
  }

  std::string dispatch(const std::string& url) {
    auto body = R"({"template_id":")" + tid + R"(","webhook":{"url":")" + url + R"("}})";
    auto run = api.make_run(json::parse(body));
    return std::string(run.at("id").as_string());
  }

  std::string link_of(const std::string& run) {
    return link_path(std::string(api.get("/v1/runs/" + run).json().at("link").as_string()));
  }

  /// Skips step a and exits: two events, in this order.
  void act(const std::string& run) {
    auto path = link_of(run);
    BOOST_REQUIRE(http_call(server->port(), "POST", path + "/steps/a/skip", "{}").status == 200);
    BOOST_REQUIRE(http_call(server->port(), "POST", path + "/exit", "{}").status == 200);
  }

  /// Every item id of a list, page by page; `between` runs after the first page.
  std::vector<std::string> page_through(const std::string& target, const std::string& items,
                                        const std::string& id_field,
                                        const std::function<void()>& between = {}) {
    std::vector<std::string> ids;
    std::string cursor;
    for (int page = 0; page < 100; ++page) {
      auto sep = target.find('?') == std::string::npos ? "?" : "&";
      auto r = api.get(target + (cursor.empty() ? "" : sep + std::string("cursor=") + cursor));
      BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
      auto o = r.json().as_object();
      for (auto& item : o.at(items).as_array())
        ids.emplace_back(item.at(id_field).as_string());
      if (o.at("next_cursor").is_null())
        return ids;
      cursor = std::string(o.at("next_cursor").as_string());
      if (page == 0 && between)
        between();
    }
    BOOST_FAIL("the list did not end");
    return ids;
  }

  json::object endpoint(const std::string& url) {
    auto all = api.get("/v1/endpoints").json().at("endpoints").as_array();
    for (auto& e : all)
      if (e.at("url").as_string() == url)
        return e.as_object();
    return {};
  }
};

std::set<std::string> as_set(const std::vector<std::string>& v) {
  return {v.begin(), v.end()};
}

} // namespace

BOOST_FIXTURE_TEST_CASE(runs_page_newest_first_and_a_run_made_while_paging_shifts_nothing,
                        lists_fixture) {
  std::vector<std::string> made;
  for (int i = 0; i < 7; ++i)
    made.push_back(api.make_run(json::parse(R"({"template_id":")" + tid + R"("})"))
                       .at("id")
                       .as_string()
                       .c_str());
  auto ids = page_through("/v1/runs?limit=3", "runs", "id", [&] {
    api.make_run(json::parse(R"({"template_id":")" + tid + R"("})"));
  });
  BOOST_TEST(ids == std::vector<std::string>(made.rbegin(), made.rend()),
             boost::test_tools::per_element());
  // A fresh listing has the new one first; each item is the run as GET /v1/runs/{id}.
  auto first = api.get("/v1/runs?limit=1").json().at("runs").at(0);
  BOOST_TEST(first.at("id").as_string() != made.back());
  BOOST_TEST(first == api.get("/v1/runs/" + std::string(first.at("id").as_string())).json());
  // Filters: status and template.
  BOOST_REQUIRE(api.post("/v1/runs/" + made[2] + "/cancel").status == 200);
  BOOST_TEST(page_through("/v1/runs?status=cancelled", "runs", "id") ==
                 std::vector<std::string>{made[2]},
             boost::test_tools::per_element());
  BOOST_TEST(page_through("/v1/runs?template_id=t-none", "runs", "id").empty());
  BOOST_TEST(page_through("/v1/runs?status=active&template_id=" + tid, "runs", "id").size() == 7u);
  BOOST_TEST(page_through("/v1/runs?created_before=2000-01-01T00:00:00Z", "runs", "id").empty());
}

BOOST_FIXTURE_TEST_CASE(bad_filters_name_their_parameter_and_a_tampered_cursor_is_refused,
                        lists_fixture) {
  for (int i = 0; i < 3; ++i)
    api.make_run(json::parse(R"({"template_id":")" + tid + R"("})"));
  auto refused = [&](const std::string& target, const std::string& code, const std::string& names) {
    auto r = api.get(target);
    BOOST_TEST(r.status == 400, target);
    BOOST_TEST(r.error_code() == code, target);
    auto message = std::string(r.json().at("error").at("message").as_string());
    BOOST_TEST(message.find(names) != std::string::npos, message);
  };
  refused("/v1/runs?status=done", "invalid_field", "status");
  refused("/v1/runs?limit=0", "invalid_field", "limit");
  refused("/v1/runs?limit=501", "invalid_field", "limit");
  refused("/v1/runs?limit=ten", "invalid_field", "limit");
  refused("/v1/runs?created_after=yesterday", "invalid_field", "created_after");
  refused("/v1/runs?stauts=active", "invalid_field", "stauts");
  refused("/v1/runs?status=active&status=expired", "invalid_field", "status");
  refused("/v1/events?type=step.done", "invalid_field", "type");
  refused("/v1/events?status=lost", "invalid_field", "status");
  refused("/v1/events?endpoint=ftp://x/", "invalid_field", "endpoint");
  refused("/v1/endpoints?status=sick", "invalid_field", "status");
  auto page = api.get("/v1/runs?limit=1").json();
  auto cursor = std::string(page.at("next_cursor").as_string());
  BOOST_TEST(api.get("/v1/runs?limit=1&cursor=" + cursor).status == 200);
  // Another list, other filters, one altered character, or made up: all refused.
  refused("/v1/events?cursor=" + cursor, "invalid_cursor", "cursor");
  refused("/v1/runs?status=active&cursor=" + cursor, "invalid_cursor", "cursor");
  auto altered = cursor;
  altered[altered.size() / 2] = altered[altered.size() / 2] == 'A' ? 'B' : 'A';
  refused("/v1/runs?cursor=" + altered, "invalid_cursor", "cursor");
  refused("/v1/runs?cursor=bm90LWEtY3Vyc29y", "invalid_cursor", "cursor");
  // The lists need the key.
  BOOST_TEST(http_call(server->port(), "GET", "/v1/events").status == 401);
}

BOOST_FIXTURE_TEST_CASE(a_failing_endpoint_is_found_and_recovered_once_it_is_fixed, lists_fixture) {
  std::atomic<bool> fixed{false};
  scripted_receiver shop{[&](const received&, std::size_t) {
    reply_plan p;
    p.status = fixed ? 204 : 500;
    return p;
  }};
  scripted_receiver other; // healthy all along
  auto url = shop.url("/hooks");
  std::vector<std::string> runs;
  for (int i = 0; i < 3; ++i) {
    runs.push_back(dispatch(url));
    act(runs.back());
  }
  auto healthy_run = dispatch(other.url());
  act(healthy_run);
  // Each of the 6 events to the shop fails its 3 attempts.
  BOOST_REQUIRE(eventually([&] { return endpoint(url)["failed"] == 6; }, 20s));
  auto failing = api.get("/v1/endpoints?status=failing").json().at("endpoints").as_array();
  BOOST_REQUIRE(failing.size() == 1u);
  auto e = failing[0].as_object();
  BOOST_TEST(e.at("url").as_string() == url);
  BOOST_TEST(!e.at("failing_since").is_null());
  BOOST_TEST(e.at("last_attempt").at("status_code") == 500);
  BOOST_TEST(e.at("pending") == 0);
  BOOST_TEST(e.at("next_attempt_at").is_null());
  BOOST_REQUIRE(eventually([&] { return endpoint(other.url())["delivered"] == 2; }));
  auto healthy = api.get("/v1/endpoints?status=healthy").json().at("endpoints").as_array();
  BOOST_REQUIRE(healthy.size() == 1u);
  BOOST_TEST(healthy[0].at("failing_since").is_null());
  // Failing first in the full list.
  BOOST_TEST(api.get("/v1/endpoints").json().at("endpoints").at(0).at("url").as_string() == url);
  // The failed events, found by endpoint and status, each with its run and URL.
  auto failed = page_through("/v1/events?status=failed&endpoint=" + url, "events", "event_id");
  BOOST_TEST(failed.size() == 6u);
  auto listed = api.get("/v1/events?status=failed&limit=1").json().at("events").at(0);
  BOOST_TEST(listed.at("endpoint").as_string() == url);
  BOOST_TEST(listed.at("delivery").at("attempts").as_array().size() == 3u);
  BOOST_TEST(listed.at("run_id").as_string() == runs.back());
  // The shop is fixed: everything since the start goes again, each run in creation order.
  fixed = true;
  auto before = shop.requests().size();
  auto r =
      api.post_json("/v1/endpoints/recover", {{"url", url}, {"since", "2000-01-01T00:00:00Z"}});
  BOOST_REQUIRE_MESSAGE(r.status == 202, r.body);
  BOOST_TEST(r.json().at("recovering") == 6);
  BOOST_TEST(r.json().at("skipped_webhook_disabled") == 0);
  BOOST_REQUIRE(shop.wait_for(before + 6, 10s));
  BOOST_REQUIRE(eventually([&] { return endpoint(url)["delivered"] == 6; }));
  auto now_healthy = endpoint(url);
  BOOST_TEST(now_healthy.at("failing_since").is_null());
  BOOST_TEST(now_healthy.at("failed") == 0);
  BOOST_TEST(now_healthy.at("recovering") == 0);
  std::map<std::string, std::vector<std::string>> order; // run -> event types as they came
  auto got = shop.requests();
  for (std::size_t i = before; i < got.size(); ++i) {
    auto body = got[i].json();
    BOOST_TEST(body.at("delivery_attempt") == 4); // attempt numbering goes on
    order[std::string(body.at("run_id").as_string())].emplace_back(body.at("event").as_string());
  }
  for (auto& run : runs)
    BOOST_TEST(order[run] == (std::vector<std::string>{"step.skipped", "run.cancelled"}),
               boost::test_tools::per_element());
  BOOST_TEST(page_through("/v1/events?status=failed", "events", "event_id").empty());
  // A URL no event went to.
  auto unknown = api.post_json("/v1/endpoints/recover", {{"url", other.url("/elsewhere")},
                                                         {"since", "2000-01-01T00:00:00Z"}});
  BOOST_TEST(unknown.status == 404);
  BOOST_TEST(unknown.error_code() == "endpoint_not_found");
  auto bad = api.post_json("/v1/endpoints/recover", {{"url", url}, {"since", "today"}});
  BOOST_TEST(bad.status == 400);
}

BOOST_FIXTURE_TEST_CASE(a_recovery_leaves_out_runs_whose_webhook_answered_410, lists_fixture) {
  std::atomic<bool> fixed{false};
  // The first run's first event is answered 410: that run's webhook is off.
  std::string gone_run;
  scripted_receiver shop{[&](const received& r, std::size_t) {
    reply_plan p;
    auto body = r.json();
    p.status = body.at("run_id").as_string() == gone_run ? 410 : fixed ? 200 : 503;
    return p;
  }};
  auto url = shop.url();
  gone_run = dispatch(url);
  act(gone_run);
  auto kept = dispatch(url);
  act(kept);
  BOOST_REQUIRE(eventually([&] { return endpoint(url)["failed"] == 4; }, 20s));
  fixed = true;
  auto r =
      api.post_json("/v1/endpoints/recover", {{"url", url}, {"since", "2000-01-01T00:00:00Z"}});
  BOOST_REQUIRE(r.status == 202);
  BOOST_TEST(r.json().at("recovering") == 2);
  BOOST_TEST(r.json().at("skipped_webhook_disabled") == 2);
  BOOST_REQUIRE(eventually([&] { return endpoint(url)["delivered"] == 2; }));
  BOOST_TEST(endpoint(url)["failed"] == 2);
}

BOOST_FIXTURE_TEST_CASE(a_second_recovery_of_a_url_is_refused_while_the_first_runs, lists_fixture) {
  std::atomic<bool> fixed{false};
  // Failing at first; once fixed, each answer takes 3 s, so the recovery is still sending
  // when it is asked for again.
  scripted_receiver shop{[&](const received&, std::size_t) {
    reply_plan p;
    p.status = fixed ? 200 : 500;
    if (fixed)
      p.delay = 3s;
    return p;
  }};
  // A delivery timeout above the receiver's delay: the recovery's attempts succeed.
  server = std::make_unique<server_process>(
      dir.str(),
      std::vector<std::string>{"--retry-schedule", "100ms,100ms", "--delivery-timeout", "10s"});
  api = server->api();
  auto url = shop.url();
  for (int i = 0; i < 3; ++i)
    act(dispatch(url));
  BOOST_REQUIRE(eventually([&] { return endpoint(url)["failed"] == 6; }, 20s));
  fixed = true;
  json::object body{{"url", url}, {"since", "2000-01-01T00:00:00Z"}};
  auto first = api.post_json("/v1/endpoints/recover", body);
  BOOST_REQUIRE_MESSAGE(first.status == 202, first.body);
  BOOST_TEST(first.json().at("recovering") == 6);
  // Its events are marked and on their way (one per run at a time): a second start is
  // refused, and changes nothing.
  BOOST_REQUIRE(eventually([&] { return endpoint(url)["in_flight"].as_int64() == 3; }));
  auto before = endpoint(url);
  auto second = api.post_json("/v1/endpoints/recover", body);
  BOOST_TEST(second.status == 409);
  BOOST_TEST(second.error_code() == "recovery_in_progress");
  auto after = endpoint(url);
  for (auto figure : {"pending", "recovering", "failed", "delivered", "in_flight"})
    BOOST_TEST(after.at(figure) == before.at(figure), figure);
  BOOST_TEST(after.at("recovering") == 6);
  // Once every event was sent again, the recovery has finished: a new one is accepted.
  BOOST_REQUIRE(eventually([&] { return endpoint(url)["delivered"] == 6; }, 20s));
  BOOST_TEST(endpoint(url)["recovering"] == 0);
  auto third = api.post_json("/v1/endpoints/recover", body);
  BOOST_REQUIRE_MESSAGE(third.status == 202, third.body);
  BOOST_TEST(third.json().at("recovering") == 0);
  // Each event went again once: the refused start sent nothing.
  std::set<std::string> resent;
  std::size_t resends = 0;
  for (auto& req : shop.requests())
    if (req.json().at("delivery_attempt").as_int64() >= 4) {
      ++resends;
      resent.insert(req.header("webhook-id"));
    }
  BOOST_TEST(resends == 6u);
  BOOST_TEST(resent.size() == 6u);
}

BOOST_FIXTURE_TEST_CASE(an_acknowledged_recovery_survives_a_kill_9, lists_fixture) {
  std::atomic<bool> fixed{false}, recovering{false};
  // Failing at first; once the recovery starts, hanging (no attempt ends before the kill);
  // after the restart, fixed.
  scripted_receiver shop{[&](const received&, std::size_t) {
    reply_plan p;
    p.status = fixed ? 200 : 500;
    p.hang = recovering && !fixed;
    return p;
  }};
  auto url = shop.url();
  for (int i = 0; i < 20; ++i)
    act(dispatch(url));
  BOOST_REQUIRE(eventually([&] { return endpoint(url)["failed"] == 40; }, 30s));
  recovering = true;
  auto r =
      api.post_json("/v1/endpoints/recover", {{"url", url}, {"since", "2000-01-01T00:00:00Z"}});
  BOOST_REQUIRE(r.status == 202);
  BOOST_TEST(r.json().at("recovering") == 40);
  // Its progress shows: every event still to send, and attempts hanging in flight.
  BOOST_TEST(endpoint(url)["recovering"] == 40);
  BOOST_TEST(eventually([&] { return endpoint(url)["in_flight"].as_int64() > 0; }));
  BOOST_TEST(endpoint(url)["recovering"] == 40);
  // Killed at once, before any attempt of the recovery ends: whatever it had marked, the
  // rest goes on after the restart.
  server->kill9();
  fixed = true;
  server = start();
  api = server->api();
  BOOST_REQUIRE(eventually([&] { return endpoint(url)["delivered"] == 40; }, 20s));
  std::set<std::string> ids;
  for (auto& req : shop.requests())
    if (req.json().at("delivery_attempt").as_int64() >= 4)
      ids.insert(req.header("webhook-id"));
  BOOST_TEST(ids.size() == 40u);
  BOOST_TEST(endpoint(url)["recovering"] == 0);
}
