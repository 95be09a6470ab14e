// Expiry, restarts and crashes of a real rundund: nothing acknowledged is lost.

#include "tests/support/scripted_receiver.hpp"
#include "tests/support/server_process.hpp"

#define BOOST_TEST_MODULE recovery
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <ctime>
#include <set>

using namespace rundun::test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

std::string one_step_template(const api_client& api) {
  return api.make_template(
      json::parse(R"({"name":"n","steps":[{"id":"a","title":"A","required":false}]})"));
}

json::object dispatch(const api_client& api, const std::string& tid, const std::string& url,
                      double hours = 24) {
  return api.make_run(json::parse(R"({"template_id":")" + tid + R"(","expires_in_hours":)" +
                                  std::to_string(hours) + R"(,"webhook":{"url":")" + url + "\"}}"));
}

std::string path_of(const json::object& run) {
  return link_path(std::string(run.at("link").as_string()));
}

std::string id_of(const json::object& run) {
  return std::string(run.at("id").as_string());
}

/// Event ids a receiver saw.
std::set<std::string> seen_ids(const scripted_receiver& rx) {
  std::set<std::string> out;
  for (auto& r : rx.requests())
    out.insert(r.header("webhook-id"));
  return out;
}

/// Milliseconds since the epoch of an RFC 3339 UTC time such as 2026-05-22T08:32:00.123Z.
std::int64_t parse_time_ms(const std::string& t) {
  std::tm tm{};
  int ms = 0;
  std::sscanf(t.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
              &tm.tm_min, &tm.tm_sec, &ms);
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<std::int64_t>(timegm(&tm)) * 1000 + ms;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

} // namespace

BOOST_AUTO_TEST_CASE(a_run_expires_on_time_while_the_server_runs) {
  temp_dir dir;
  server_process server{dir.str()};
  auto api = server.api();
  scripted_receiver rx;
  auto run = dispatch(api, one_step_template(api), rx.url(), 1.0 / 3600); // one second
  BOOST_REQUIRE(rx.wait_for(1, 15s));
  auto got = rx.requests()[0];
  auto body = got.json().as_object();
  BOOST_TEST((body.at("event").as_string() == "run.expired"));
  BOOST_TEST((body.at("data").at("expired_at") == run.at("expires_at")));
  BOOST_TEST(http_call(server.port(), "POST", path_of(run) + "/steps/a/skip").status == 410);
  BOOST_TEST(http_call(server.port(), "POST", path_of(run) + "/steps/a/skip").error_code() ==
             "link_expired");
  auto stored = api.get("/v1/runs/" + id_of(run)).json();
  BOOST_TEST((stored.at("status").as_string() == "expired"));
  BOOST_TEST((stored.at("ended_at") == run.at("expires_at")));
  BOOST_TEST(http_call(server.port(), "GET", path_of(run) + "/state").status == 200);
}

BOOST_AUTO_TEST_CASE(a_run_that_expired_while_the_server_was_down_expires_at_restart) {
  temp_dir dir;
  scripted_receiver rx;
  json::object run;
  {
    server_process server{dir.str()};
    auto api = server.api();
    run = dispatch(api, one_step_template(api), rx.url(), 2.0 / 3600); // two seconds
    server.kill9();
  }
  std::this_thread::sleep_for(3s);
  server_process server{dir.str()};
  BOOST_REQUIRE(rx.wait_for(1, 15s));
  auto body = rx.requests()[0].json().as_object();
  BOOST_TEST((body.at("event").as_string() == "run.expired"));
  // expired_at is the moment the run expired, not the restart.
  BOOST_TEST((body.at("data").at("expired_at") == run.at("expires_at")));
}

BOOST_AUTO_TEST_CASE(ended_runs_stay_ended_and_data_survives_a_restart) {
  temp_dir dir;
  std::string tid, rid;
  {
    server_process server{dir.str()};
    auto api = server.api();
    tid = one_step_template(api);
    auto run = api.make_run(json::parse(R"({"template_id":")" + tid + R"("})"));
    rid = id_of(run);
    BOOST_TEST(http_call(server.port(), "POST", path_of(run) + "/submit").status == 200);
    BOOST_TEST(server.terminate() == 0);
  }
  server_process server{dir.str()};
  auto api = server.api();
  BOOST_TEST(api.get("/v1/templates/" + tid).status == 200);
  auto run = api.get("/v1/runs/" + rid).json();
  BOOST_TEST((run.at("status").as_string() == "completed"));
  BOOST_TEST(http_call(server.port(), "POST", path_of(run.as_object()) + "/exit").error_code() ==
             "run_not_active");
}

BOOST_AUTO_TEST_CASE(kill_9_mid_delivery_loses_no_event) {
  temp_dir dir;
  std::atomic<bool> answering{false};
  scripted_receiver rx{[&](const received&, std::size_t) {
    reply_plan p;
    p.hang = !answering; // while the first server lives, every attempt hangs
    return p;
  }};
  std::vector<std::string> runs;
  constexpr int count = 30;
  {
    server_process server{dir.str(), {"--retry-schedule", "100ms,100ms,100ms,100ms,100ms"}};
    auto api = server.api();
    auto tid = one_step_template(api);
    for (int i = 0; i < count; ++i) {
      auto run = dispatch(api, tid, rx.url());
      // Every 2xx below promises that the event is on disk.
      BOOST_REQUIRE(
          http_call(server.port(), "POST", path_of(run) + "/steps/a/answer", "{}").status == 200);
      runs.push_back(id_of(run));
    }
    BOOST_REQUIRE(rx.wait_for(1, 5s));
    server.kill9();
  }
  answering = true;
  server_process server{dir.str(), {"--retry-schedule", "100ms,100ms,100ms,100ms,100ms"}};
  auto api = server.api();
  std::set<std::string> expected;
  for (auto& id : runs) {
    auto events = api.get("/v1/runs/" + id + "/events").json();
    for (auto& e : events.at("events").as_array())
      expected.insert(std::string(e.at("event_id").as_string()));
  }
  BOOST_REQUIRE(expected.size() == std::size_t{count});
  BOOST_TEST(eventually(
      [&] {
        auto seen = seen_ids(rx);
        return std::includes(seen.begin(), seen.end(), expected.begin(), expected.end());
      },
      15s));
  BOOST_TEST(eventually(
      [&] {
        for (auto& id : runs) {
          auto events = api.get("/v1/runs/" + id + "/events").json();
          for (auto& e : events.at("events").as_array())
            if (e.at("delivery").at("status").as_string() != "delivered")
              return false;
        }
        return true;
      },
      10s));
}

BOOST_AUTO_TEST_CASE(an_overdue_retry_goes_out_promptly_after_a_restart) {
  temp_dir dir;
  std::atomic<int> code{500};
  scripted_receiver rx{[&](const received&, std::size_t) {
    reply_plan p;
    p.status = code;
    return p;
  }};
  json::object run;
  std::int64_t retry_due_ms = 0;
  {
    server_process server{dir.str(), {"--retry-schedule", "2s"}};
    auto api = server.api();
    run = dispatch(api, one_step_template(api), rx.url());
    http_call(server.port(), "POST", path_of(run) + "/steps/a/answer", "{}");
    BOOST_REQUIRE(rx.wait_for(1, 15s));
    // Wait until the failed attempt and its retry time are stored, then kill.
    BOOST_REQUIRE(eventually(
        [&] {
          auto ev = api.get("/v1/runs/" + id_of(run) + "/events").json().at("events").at(0);
          auto& d = ev.at("delivery").as_object();
          if (d.at("attempts").as_array().size() != 1 || !d.at("next_attempt_at").is_string())
            return false;
          retry_due_ms = parse_time_ms(std::string(d.at("next_attempt_at").as_string()));
          return true;
        },
        15s));
    server.kill9();
  }
  code = 200;
  // The retry falls due while the server is down.
  while (now_ms() <= retry_due_ms)
    std::this_thread::sleep_for(50ms);
  server_process server{dir.str(), {"--retry-schedule", "2s"}};
  // An engine that did not resume overdue retries would never send it: the schedule has no
  // later one. (How fast it goes out after a restart is load_bench recovery's figure.)
  BOOST_REQUIRE(rx.wait_for(2, 15s));
  auto got = rx.requests();
  BOOST_TEST((got[1].json().at("delivery_attempt").as_int64() == 2));
}

BOOST_AUTO_TEST_CASE(sigterm_finishes_in_flight_work_and_exits_0) {
  temp_dir dir;
  scripted_receiver rx{[](const received&, std::size_t) {
    reply_plan p;
    p.delay = 500ms;
    return p;
  }};
  json::object run;
  {
    server_process server{dir.str()};
    auto api = server.api();
    run = dispatch(api, one_step_template(api), rx.url());
    http_call(server.port(), "POST", path_of(run) + "/steps/a/answer", "{}");
    BOOST_REQUIRE(rx.wait_for(1, 5s));
    BOOST_TEST(server.terminate() == 0); // while the attempt is in flight
  }
  server_process server{dir.str()};
  auto ev = server.api().get("/v1/runs/" + id_of(run) + "/events").json().at("events");
  BOOST_TEST((ev.at(0).at("delivery").at("status").as_string() == "delivered"));
  BOOST_TEST(rx.requests().size() == 1u);
}
