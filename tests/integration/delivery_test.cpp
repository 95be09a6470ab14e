// Webhook delivery from a real rundund to scripted receivers on loopback (contract §7).

#include "net/signature.hpp"
#include "tests/support/prometheus_text.hpp"
#include "tests/support/scripted_receiver.hpp"
#include "tests/support/server_process.hpp"

#define BOOST_TEST_MODULE delivery
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <condition_variable>
#include <mutex>
#include <set>

using namespace rundun;
using namespace rundun::test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

constexpr auto secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A server with a short retry schedule, and helpers to drive runs against a receiver.
struct delivery_fixture {
  temp_dir dir;
  server_process server{dir.str(),
                        {"--retry-schedule", "200ms,200ms,200ms", "--delivery-timeout", "1s"}};
  api_client api = server.api();
  std::string tid = api.make_template(json::parse(R"({"name":"Checkout","steps":[
      {"id":"a","title":"A","required":false},{"id":"b","title":"B","required":false},
      {"id":"c","title":"C","required":false}]})"));

  struct run_handle {
    std::string id, path;
  };

  run_handle dispatch(const std::string& url, const std::string& events = "") {
    auto body = R"({"template_id":")" + tid + R"(","webhook":{"url":")" + url + R"(","secret":")" +
                secret + "\"" + (events.empty() ? "" : ",\"events\":" + events) + "}}";
    auto run = api.make_run(json::parse(body));
    return {std::string(run.at("id").as_string()),
            link_path(std::string(run.at("link").as_string()))};
  }

  int act(const run_handle& r, const std::string& what) {
    return http_call(server.port(), "POST", r.path + what, "{}").status;
  }

  json::array events(const run_handle& r) {
    return api.get("/v1/runs/" + r.id + "/events").json().at("events").as_array();
  }

  /// Waits until every event of the run has left `pending`.
  bool settled(const run_handle& r, std::size_t count, std::chrono::milliseconds limit = 10s) {
    return eventually(
        [&] {
          auto ev = events(r);
          if (ev.size() != count)
            return false;
          for (auto& e : ev)
            if (e.at("delivery").at("status").as_string() == "pending")
              return false;
          return true;
        },
        limit);
  }
};

void verify_signature(const received& r) {
  net::webhook_signer signer{*net::parse_secret(secret)};
  auto ts = std::stoll(r.header("webhook-timestamp"));
  BOOST_TEST(r.header("webhook-signature") == signer.sign(r.header("webhook-id"), ts, r.body));
  auto age =
      std::chrono::duration_cast<std::chrono::seconds>(r.wall_at.time_since_epoch()).count() - ts;
  BOOST_TEST(std::abs(age) <= 5);
}

reply_plan status(int code) {
  reply_plan p;
  p.status = code;
  return p;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(delivery, delivery_fixture)

BOOST_AUTO_TEST_CASE(subscribed_events_arrive_signed_and_in_order) {
  scripted_receiver rx;
  auto run = dispatch(rx.url(), R"(["step.completed","run.completed"])");
  BOOST_TEST(act(run, "/steps/a/answer") == 200);
  BOOST_TEST(act(run, "/steps/b/skip") == 200); // not subscribed
  BOOST_TEST(act(run, "/steps/c/answer") == 200);
  BOOST_TEST(act(run, "/submit") == 200);
  BOOST_REQUIRE(settled(run, 4));
  auto got = rx.requests();
  BOOST_REQUIRE(got.size() == 3u);
  std::vector<std::string> kinds;
  for (auto& r : got) {
    verify_signature(r);
    auto body = r.json().as_object();
    kinds.emplace_back(body.at("event").as_string());
    BOOST_TEST((body.at("delivery_attempt").as_int64() == 1));
    BOOST_TEST((body.at("run_id").as_string() == run.id));
    BOOST_TEST((r.header("webhook-id") == std::string(body.at("event_id").as_string())));
    BOOST_TEST(r.header("content-type") == "application/json");
    BOOST_TEST(r.header("user-agent").starts_with("Rundun-Webhooks/"));
    BOOST_TEST(r.target == "/hook");
  }
  BOOST_TEST(
      (kinds == std::vector<std::string>{"step.completed", "step.completed", "run.completed"}));
  auto ev = events(run);
  BOOST_TEST((ev.at(1).at("delivery").at("status").as_string() == "not_subscribed"));
  BOOST_TEST((ev.at(0).at("delivery").at("status").as_string() == "delivered"));
  BOOST_TEST((ev.at(0).at("delivery").at("attempts").at(0).at("status_code").as_int64() == 200));
}

BOOST_AUTO_TEST_CASE(an_empty_subscription_sends_nothing) {
  scripted_receiver rx;
  auto run = dispatch(rx.url(), "[]");
  BOOST_TEST(act(run, "/exit") == 200);
  BOOST_REQUIRE(settled(run, 1));
  BOOST_TEST((events(run).at(0).at("delivery").at("status").as_string() == "not_subscribed"));
  // Nothing was sent, and nothing is waiting to be: no attempt made, none pending or in
  // flight (the server's own counts, not a pause hoping it would have sent by now).
  auto m = parse_prometheus_text(http_call(server.port(), "GET", "/metrics").body);
  double attempts = 0;
  for (auto& s : m.samples)
    if (s.name == "rundun_delivery_attempts_total")
      attempts += s.value;
  BOOST_TEST(attempts == 0);
  BOOST_TEST(m.value("rundun_deliveries_pending") == 0);
  BOOST_TEST(m.value("rundun_deliveries_in_flight") == 0);
  BOOST_TEST(m.value("rundun_events_created_total", {{"type", "run.cancelled"}}) == 1);
  BOOST_TEST(rx.requests().empty());
}

BOOST_AUTO_TEST_CASE(failures_are_retried_with_the_same_event_id) {
  scripted_receiver rx{[](const received&, std::size_t i) { return status(i < 2 ? 500 : 204); }};
  auto run = dispatch(rx.url());
  act(run, "/steps/a/answer");
  BOOST_REQUIRE(settled(run, 1));
  auto got = rx.requests();
  BOOST_REQUIRE(got.size() == 3u);
  for (std::size_t i = 0; i < got.size(); ++i) {
    BOOST_TEST(
        (got[i].json().at("delivery_attempt").as_int64() == static_cast<std::int64_t>(i + 1)));
    BOOST_TEST(got[i].header("webhook-id") == got[0].header("webhook-id"));
    verify_signature(got[i]);
  }
  // The schedule's delay (200 ms, plus up to 10 % jitter) separates the attempts.
  BOOST_TEST((got[1].at - got[0].at) >= 200ms);
  auto d = events(run).at(0).at("delivery");
  BOOST_TEST((d.at("status").as_string() == "delivered"));
  BOOST_TEST((d.at("attempts").as_array().size() == 3u));
  BOOST_TEST((d.at("attempts").at(0).at("status_code").as_int64() == 500));
  BOOST_TEST((d.at("attempts").at(0).at("error").as_string() == "http status 500"));
}

BOOST_AUTO_TEST_CASE(the_schedule_runs_out_and_the_event_fails) {
  scripted_receiver rx{[](const received&, std::size_t) { return status(500); }};
  auto run = dispatch(rx.url());
  act(run, "/steps/a/answer");
  BOOST_REQUIRE(settled(run, 1));
  BOOST_TEST(rx.requests().size() == 4u); // 1 + three retries
  auto d = events(run).at(0).at("delivery");
  BOOST_TEST((d.at("status").as_string() == "failed"));
  BOOST_TEST(!d.as_object().contains("next_attempt_at"));
  // Each failed attempt is logged once, with its reason, and no secret is. Logs are written
  // by their own thread: wait for the lines.
  std::string logs;
  auto failed_lines = [&] {
    logs = server.stderr_text();
    std::size_t lines = 0;
    for (auto at = logs.find("delivery attempt failed"); at != std::string::npos;
         at = logs.find("delivery attempt failed", at + 1))
      ++lines;
    return lines;
  };
  BOOST_TEST(eventually([&] { return failed_lines() >= 4u; }));
  BOOST_TEST(failed_lines() == 4u);
  BOOST_TEST(logs.find("http status 500") != std::string::npos);
  BOOST_TEST(logs.find(secret) == std::string::npos);
  BOOST_TEST(logs.find(api.key) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_redirect_is_not_followed) {
  scripted_receiver rx{[](const received&, std::size_t i) {
    auto p = status(i == 0 ? 301 : 200);
    p.headers = {{"Location", "http://127.0.0.1:1/elsewhere"}};
    return p;
  }};
  auto run = dispatch(rx.url());
  act(run, "/steps/a/answer");
  BOOST_REQUIRE(settled(run, 1));
  auto d = events(run).at(0).at("delivery");
  BOOST_TEST((d.at("attempts").at(0).at("status_code").as_int64() == 301));
  BOOST_TEST((d.at("status").as_string() == "delivered"));
  BOOST_TEST(rx.requests().size() == 2u);
}

BOOST_AUTO_TEST_CASE(gone_turns_the_runs_webhook_off) {
  scripted_receiver rx{[](const received&, std::size_t i) {
    auto p = status(i == 0 ? 410 : 200);
    p.delay = i == 0 ? 300ms : 0ms;
    return p;
  }};
  auto run = dispatch(rx.url());
  act(run, "/steps/a/answer"); // answered 410 after 300 ms
  act(run, "/steps/b/answer"); // waits behind the first
  BOOST_REQUIRE(settled(run, 2));
  act(run, "/steps/c/answer"); // after the 410: never sent
  BOOST_REQUIRE(settled(run, 3));
  BOOST_TEST(rx.requests().size() == 1u);
  auto ev = events(run);
  BOOST_TEST((ev.at(0).at("delivery").at("status").as_string() == "failed"));
  BOOST_TEST((ev.at(0).at("delivery").at("attempts").at(0).at("status_code").as_int64() == 410));
  for (std::size_t i = 1; i < 3; ++i) {
    BOOST_TEST((ev.at(i).at("delivery").at("status").as_string() == "failed"));
    BOOST_TEST((ev.at(i).at("delivery").at("error").as_string() == "endpoint_gone"));
    BOOST_TEST(ev.at(i).at("delivery").at("attempts").as_array().empty());
  }
  auto again =
      api.post("/v1/events/" + std::string(ev.at(1).at("event_id").as_string()) + "/redeliver");
  BOOST_TEST(again.status == 409);
  BOOST_TEST(again.error_code() == "webhook_disabled");
}

BOOST_AUTO_TEST_CASE(a_hanging_receiver_times_out) {
  scripted_receiver rx{[](const received&, std::size_t i) {
    reply_plan p;
    p.hang = i == 0;
    return p;
  }};
  auto run = dispatch(rx.url());
  act(run, "/steps/a/answer");
  BOOST_REQUIRE(settled(run, 1));
  auto d = events(run).at(0).at("delivery");
  BOOST_TEST((d.at("attempts").at(0).at("error").as_string() == "timeout"));
  BOOST_TEST((d.at("attempts").at(0).at("duration_ms").as_int64() >= 900));
  BOOST_TEST((d.at("status").as_string() == "delivered"));
}

BOOST_AUTO_TEST_CASE(a_refused_connection_is_a_failed_attempt) {
  std::string url;
  {
    scripted_receiver gone;
    url = gone.url();
  }
  auto run = dispatch(url);
  act(run, "/steps/a/answer");
  BOOST_REQUIRE(settled(run, 1));
  auto d = events(run).at(0).at("delivery");
  BOOST_TEST((d.at("status").as_string() == "failed"));
  BOOST_TEST(d.at("attempts").at(0).at("error").as_string().starts_with("connect: "));
}

BOOST_AUTO_TEST_CASE(retry_after_delays_the_next_attempt) {
  scripted_receiver rx{[](const received&, std::size_t i) {
    auto p = status(i == 0 ? 503 : 200);
    if (i == 0)
      p.headers = {{"Retry-After", "1"}};
    return p;
  }};
  // The server's longest delay is 200 ms, which caps Retry-After: use a server whose longest
  // delay is longer.
  temp_dir other_dir;
  server_process other{other_dir.str(), {"--retry-schedule", "100ms,5s"}};
  auto api2 = other.api();
  auto t = api2.make_template(json::parse(R"({"name":"n","steps":[{"id":"a","title":"A"}]})"));
  auto run = api2.make_run(
      json::parse(R"({"template_id":")" + t + R"(","webhook":{"url":")" + rx.url() + "\"}}"));
  http_call(other.port(), "POST",
            link_path(std::string(run.at("link").as_string())) + "/steps/a/answer", "{}");
  BOOST_REQUIRE(rx.wait_for(2, 10s));
  auto got = rx.requests();
  BOOST_TEST((got[1].at - got[0].at) >= 1000ms);
}

BOOST_AUTO_TEST_CASE(redeliver_sends_again_with_the_next_attempt_number) {
  scripted_receiver rx;
  auto run = dispatch(rx.url());
  act(run, "/steps/a/answer");
  BOOST_REQUIRE(settled(run, 1));
  auto id = std::string(events(run).at(0).at("event_id").as_string());
  auto r = api.post("/v1/events/" + id + "/redeliver");
  BOOST_TEST(r.status == 202);
  BOOST_REQUIRE(rx.wait_for(2, 5s));
  auto got = rx.requests();
  BOOST_TEST(got[1].header("webhook-id") == id);
  BOOST_TEST((got[1].json().at("delivery_attempt").as_int64() == 2));
  BOOST_REQUIRE(settled(run, 1));
  BOOST_TEST((events(run).at(0).at("delivery").at("attempts").as_array().size() == 2u));
}

BOOST_AUTO_TEST_CASE(redelivering_a_pending_event_is_a_conflict) {
  scripted_receiver rx{[](const received&, std::size_t) {
    reply_plan p;
    p.hang = true;
    return p;
  }};
  auto run = dispatch(rx.url());
  act(run, "/steps/a/answer");
  BOOST_REQUIRE(rx.wait_for(1, 5s));
  auto id = std::string(events(run).at(0).at("event_id").as_string());
  auto r = api.post("/v1/events/" + id + "/redeliver");
  BOOST_TEST(r.status == 409);
  BOOST_TEST(r.error_code() == "delivery_in_progress");
}

BOOST_AUTO_TEST_CASE(first_attempts_of_a_run_go_one_at_a_time) {
  scripted_receiver rx{[](const received&, std::size_t) {
    reply_plan p;
    p.delay = 150ms;
    return p;
  }};
  auto run = dispatch(rx.url());
  act(run, "/steps/a/answer");
  act(run, "/steps/b/answer");
  act(run, "/steps/c/answer");
  act(run, "/submit");
  BOOST_REQUIRE(settled(run, 4));
  auto got = rx.requests();
  BOOST_REQUIRE(got.size() == 4u);
  BOOST_TEST(rx.max_concurrent() == 1u);
  auto ev = events(run);
  for (std::size_t i = 0; i < 4; ++i) {
    BOOST_TEST((got[i].header("webhook-id") == std::string(ev.at(i).at("event_id").as_string())));
    if (i > 0)
      BOOST_TEST((got[i].at - got[i - 1].at) >= 150ms); // the previous one had been answered
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(the_endpoint_concurrency_cap_holds_and_connections_are_reused) {
  temp_dir dir;
  server_process server{dir.str(), {"--endpoint-concurrency", "3"}};
  auto api = server.api();
  // The receiver holds each request until three are in flight at once (then lets all go):
  // the engine must reach its cap of three, whatever the machine's pace, and never pass it.
  struct gate {
    std::mutex mtx;
    std::condition_variable cv;
    int waiting = 0;
    bool open = false;
  };
  auto g = std::make_shared<gate>();
  scripted_receiver rx{[g](const received&, std::size_t) {
    std::unique_lock lock{g->mtx};
    if (++g->waiting >= 3)
      g->open = true;
    g->cv.notify_all();
    g->cv.wait_for(lock, 20s, [&] { return g->open; });
    return reply_plan{};
  }};
  auto t = api.make_template(json::parse(R"({"name":"n","steps":[{"id":"a","title":"A"}]})"));
  constexpr int runs = 12;
  for (int i = 0; i < runs; ++i) {
    auto run = api.make_run(
        json::parse(R"({"template_id":")" + t + R"(","webhook":{"url":")" + rx.url() + "\"}}"));
    http_call(server.port(), "POST",
              link_path(std::string(run.at("link").as_string())) + "/steps/a/answer", "{}");
  }
  BOOST_REQUIRE(rx.wait_for(runs, 20s));
  BOOST_TEST(rx.max_concurrent() == 3u);
  BOOST_TEST(rx.connections() <= 3u);
}

BOOST_AUTO_TEST_CASE(a_hanging_endpoint_does_not_hold_up_a_healthy_one) {
  temp_dir dir;
  server_process server{dir.str(), {"--delivery-timeout", "20s"}};
  auto api = server.api();
  scripted_receiver hanging{[](const received&, std::size_t) {
    reply_plan p;
    p.hang = true;
    return p;
  }};
  scripted_receiver healthy;
  auto t = api.make_template(json::parse(R"({"name":"n","steps":[{"id":"a","title":"A"}]})"));
  auto complete = [&](const std::string& url) {
    auto run = api.make_run(
        json::parse(R"({"template_id":")" + t + R"(","webhook":{"url":")" + url + "\"}}"));
    http_call(server.port(), "POST",
              link_path(std::string(run.at("link").as_string())) + "/steps/a/answer", "{}");
  };
  constexpr int per_endpoint = 20;
  for (int i = 0; i < per_endpoint; ++i)
    complete(hanging.url());
  BOOST_REQUIRE(hanging.wait_for(16, 10s)); // its whole concurrency is tied up
  for (int i = 0; i < per_endpoint; ++i)
    complete(healthy.url());
  // Every healthy delivery arrives while the hanging endpoint's requests are still open
  // (their timeout is 20 s away).
  BOOST_TEST(healthy.wait_for(per_endpoint, 10s));
  BOOST_TEST(hanging.requests().size() == 16u);
}
