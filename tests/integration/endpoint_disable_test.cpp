// An endpoint that gives up (contract §7, §8) in a real rundund on loopback, with short
// durations: disabled once every attempt has failed for --endpoint-disable-after, its
// waiting and new events failed unsent with endpoint_disabled, a redelivery refused, listed
// first and under status=disabled, kept across a restart, and enabled again by a recovery,
// which resends.

#include "persistence/clock.hpp"
#include "tests/support/prometheus_text.hpp"
#include "tests/support/scripted_receiver.hpp"
#include "tests/support/server_process.hpp"

#include "net/webhook_verifier.hpp"

#define BOOST_TEST_MODULE endpoint_disable
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <set>

using namespace rundun::test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

const std::string template_body =
    R"({"name":"Shift","steps":[{"id":"open","title":"Open"},{"id":"close","title":"Close"}]})";

/// A receiver that fails every request until told to accept.
struct flaky_receiver {
  std::atomic<bool> accept{false};
  scripted_receiver rx{[this](const received&, std::size_t) {
    reply_plan plan;
    plan.status = accept.load() ? 204 : 500;
    return plan;
  }};
};

/// The server's flags: `retries` retries 200 ms apart, and disabling after `after`. An
/// endpoint is disabled at a failed attempt: the schedule must outlast `after`.
std::vector<std::string> flags(const std::string& after, int retries = 40) {
  std::string schedule;
  for (int i = 0; i < retries; ++i)
    schedule += (i ? ",200ms" : "200ms");
  return {"--retry-schedule", schedule, "--endpoint-disable-after", after};
}

/// The endpoint at `url` as GET /v1/endpoints lists it (null if not listed).
json::value endpoint(const api_client& api, const std::string& url, const std::string& query = "") {
  auto r = api.get("/v1/endpoints" + query);
  BOOST_REQUIRE_EQUAL(r.status, 200);
  auto doc = r.json();
  for (auto& e : doc.at("endpoints").as_array())
    if (e.at("url").as_string() == url)
      return e;
  return nullptr;
}

bool disabled(const api_client& api, const std::string& url) {
  auto e = endpoint(api, url);
  return e.is_object() && e.at("disabled_at").is_string();
}

/// A new run to `url` and its link path.
std::pair<std::string, std::string> make_run(const api_client& api, const std::string& tid,
                                             const std::string& url) {
  auto run = api.make_run(
      json::parse(R"({"template_id":")" + tid + R"(","webhook":{"url":")" + url + R"("}})"));
  return {std::string(run.at("id").as_string()),
          link_path(std::string(run.at("link").as_string()))};
}

json::array events_of(const api_client& api, const std::string& run) {
  auto r = api.get("/v1/runs/" + run + "/events");
  BOOST_REQUIRE_EQUAL(r.status, 200);
  return r.json().at("events").as_array();
}

std::string status_of(const json::value& event) {
  return std::string(event.at("delivery").at("status").as_string());
}

std::string error_of(const json::value& event) {
  auto* e = event.at("delivery").as_object().if_contains("error");
  return e && e->is_string() ? std::string(e->as_string()) : "";
}

} // namespace

BOOST_AUTO_TEST_CASE(a_failing_endpoint_is_disabled_fails_its_events_and_a_recovery_enables_it) {
  flaky_receiver f;
  auto url = f.rx.url();
  temp_dir dir;
  server_process server{dir.str(), flags("1s")};
  auto api = server.api();
  auto tid = api.make_template(json::parse(template_body));
  auto [run, link] = make_run(api, tid, url);
  auto since = rundun::format_rfc3339(rundun::now() - 1min);
  BOOST_REQUIRE_EQUAL(http_call(server.port(), "POST", link + "/steps/open/answer", "{}").status,
                      200);

  // Failing for a second, with retries every 200 ms: disabled, and its waiting event failed.
  BOOST_REQUIRE(eventually([&] { return disabled(api, url); }, 15s));
  BOOST_REQUIRE(eventually([&] { return status_of(events_of(api, run)[0]) == "failed"; }));
  auto first = events_of(api, run)[0];
  BOOST_TEST(error_of(first) == "endpoint_disabled");
  auto e = endpoint(api, url);
  BOOST_TEST(e.at("failing_since").is_string());
  BOOST_TEST(endpoint(api, url, "?status=disabled").is_object());
  BOOST_TEST(endpoint(api, url, "?status=failing").is_null());
  auto metrics = parse_prometheus_text(http_call(server.port(), "GET", "/metrics").body);
  BOOST_TEST(metrics.value("rundun_endpoints_disabled_total") == 1);

  // New events fail at once, unsent, and a redelivery is refused.
  auto sent_before = f.rx.requests().size();
  BOOST_REQUIRE_EQUAL(http_call(server.port(), "POST", link + "/steps/close/answer", "{}").status,
                      200);
  BOOST_REQUIRE(eventually([&] {
    auto events = events_of(api, run);
    return events.size() == 2 && status_of(events[1]) == "failed";
  }));
  auto second = events_of(api, run)[1];
  BOOST_TEST(error_of(second) == "endpoint_disabled");
  BOOST_TEST(second.at("delivery").at("attempts").as_array().empty());
  auto redeliver =
      api.post("/v1/events/" + std::string(second.at("event_id").as_string()) + "/redeliver");
  BOOST_TEST(redeliver.status == 409);
  BOOST_TEST(redeliver.error_code() == "endpoint_disabled");
  BOOST_TEST(f.rx.requests().size() == sent_before);

  // The endpoint answers again; a recovery enables it and resends both events.
  f.accept = true;
  auto rec =
      api.post("/v1/endpoints/recover", R"({"url":")" + url + R"(","since":")" + since + R"("})");
  BOOST_REQUIRE_EQUAL(rec.status, 202);
  BOOST_TEST(rec.json().at("recovering").as_int64() == 2);
  BOOST_TEST(eventually([&] {
    auto events = events_of(api, run);
    return status_of(events[0]) == "delivered" && status_of(events[1]) == "delivered";
  }));
  auto after = endpoint(api, url);
  BOOST_TEST(after.at("disabled_at").is_null());
  BOOST_TEST(after.at("failing_since").is_null());
}

BOOST_AUTO_TEST_CASE(disabling_counts_from_failing_since_across_a_restart_and_stays) {
  flaky_receiver f;
  auto url = f.rx.url();
  temp_dir dir;
  std::string run, link;
  {
    server_process server{dir.str(), flags("3s")};
    auto api = server.api();
    auto tid = api.make_template(json::parse(template_body));
    std::tie(run, link) = make_run(api, tid, url);
    BOOST_REQUIRE_EQUAL(http_call(server.port(), "POST", link + "/steps/open/answer", "{}").status,
                        200);
    // Failing, not yet disabled, when the server is killed.
    BOOST_REQUIRE(eventually([&] { return endpoint(api, url).at("failing_since").is_string(); }));
    BOOST_TEST(!disabled(api, url));
    server.kill9();
  }
  {
    server_process server{dir.str(), flags("3s")};
    auto api = server.api();
    auto failing_since = endpoint(api, url).at("failing_since");
    BOOST_REQUIRE(failing_since.is_string());
    BOOST_REQUIRE(eventually([&] { return disabled(api, url); }, 15s));
    // Counted from the run of failures that began before the restart.
    auto e = endpoint(api, url);
    BOOST_TEST(e.at("failing_since") == failing_since);
    auto from = rundun::parse_rfc3339(failing_since.as_string());
    auto at = rundun::parse_rfc3339(e.at("disabled_at").as_string());
    BOOST_TEST((*at - *from >= 3s));
    BOOST_TEST(error_of(events_of(api, run)[0]) == "endpoint_disabled");
    server.terminate();
  }
  // Still disabled after a restart: a new event fails at once.
  server_process server{dir.str(), flags("3s")};
  auto api = server.api();
  BOOST_TEST(disabled(api, url));
  auto sent_before = f.rx.requests().size();
  BOOST_REQUIRE_EQUAL(http_call(server.port(), "POST", link + "/steps/close/answer", "{}").status,
                      200);
  BOOST_TEST(eventually([&] {
    auto events = events_of(api, run);
    return events.size() == 2 && error_of(events[1]) == "endpoint_disabled";
  }));
  BOOST_TEST(f.rx.requests().size() == sent_before);
}

BOOST_AUTO_TEST_CASE(zero_never_disables) {
  flaky_receiver f;
  auto url = f.rx.url();
  temp_dir dir;
  server_process server{dir.str(), flags("0", 5)};
  auto api = server.api();
  auto tid = api.make_template(json::parse(template_body));
  auto [run, link] = make_run(api, tid, url);
  BOOST_REQUIRE_EQUAL(http_call(server.port(), "POST", link + "/steps/open/answer", "{}").status,
                      200);
  // Every retry of the schedule fails; the event fails after its last, not for being disabled.
  BOOST_REQUIRE(eventually([&] { return status_of(events_of(api, run)[0]) == "failed"; }, 15s));
  BOOST_TEST(error_of(events_of(api, run)[0]).empty());
  BOOST_TEST(!disabled(api, url));
}

BOOST_AUTO_TEST_CASE(operator_notices_are_signed_kept_across_a_kill_and_sent_once) {
  flaky_receiver customer;
  auto url = customer.rx.url();
  // The operator's endpoint refuses its first request, and accepts the others.
  scripted_receiver op{[](const received&, std::size_t i) {
    reply_plan plan;
    plan.status = i == 0 ? 503 : 204;
    return plan;
  }};
  temp_dir dir;
  auto with_operator = flags("1s");
  with_operator.insert(with_operator.end(), {"--operator-webhook", op.url()});
  std::string secret, link;
  {
    server_process server{dir.str(), with_operator};
    // No secret given: one is made, kept in the data dir, and printed once.
    auto out = server.stdout_text();
    auto at = out.find("rundund operator webhook secret: ");
    BOOST_REQUIRE(at != std::string::npos);
    secret = out.substr(at + 33, out.find('\n', at) - at - 33);
    BOOST_REQUIRE(secret.starts_with("whsec_"));
    auto api = server.api();
    auto tid = api.make_template(json::parse(template_body));
    link = make_run(api, tid, url).second;
    BOOST_REQUIRE_EQUAL(http_call(server.port(), "POST", link + "/steps/open/answer", "{}").status,
                        200);
    // Disabled: its notice is made, and its first attempt refused. Then the process dies.
    BOOST_REQUIRE(op.wait_for(1, 15s));
    server.kill9();
    BOOST_TEST(server.stderr_text().find(secret) == std::string::npos);
  }
  server_process server{dir.str(), with_operator};
  BOOST_TEST(server.stdout_text().find("operator webhook secret") == std::string::npos);
  // After the restart the notice is sent again, the same one, and accepted.
  BOOST_REQUIRE(op.wait_for(2, 15s));
  auto verifier = rundun::net::webhook_verifier::from_secret(secret);
  BOOST_REQUIRE(verifier);
  std::set<std::string> ids;
  for (auto& r : op.requests()) {
    BOOST_TEST(!verifier->verify(r.header("webhook-id"), r.header("webhook-timestamp"),
                                 r.header("webhook-signature"), r.body,
                                 std::chrono::system_clock::now()));
    auto n = r.json().as_object();
    BOOST_TEST(n.at("event").as_string() == "endpoint.disabled");
    BOOST_TEST(!n.contains("run_id"));
    BOOST_TEST(n.at("data").at("url").as_string() == url);
    ids.insert(std::string(n.at("event_id").as_string()));
  }
  BOOST_TEST(ids.size() == 1u);
  BOOST_TEST(eventually([&] {
    auto m = parse_prometheus_text(http_call(server.port(), "GET", "/metrics").body);
    return m.value("rundun_operator_notices_delivered_total") == 1;
  }));
  BOOST_TEST(server.stderr_text().find(secret) == std::string::npos);
}
