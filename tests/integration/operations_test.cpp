// What operators see of a real rundund: /metrics (checked by promtool and by a strict parser
// here) and the JSON log lines on stderr.

#include "tests/support/prometheus_text.hpp"
#include "tests/support/scripted_receiver.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/test_pki.hpp"

#define BOOST_TEST_MODULE operations
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

using namespace rundun;
using namespace rundun::test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

constexpr auto secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A receiver script that answers every request with `status`.
scripted_receiver::script answering(int status) {
  return [status](const received&, std::size_t) {
    reply_plan p;
    p.status = status;
    return p;
  };
}

/// The URL of a receiver that is gone: nothing listens on its port any more (the idiom of
/// the delivery and client suites).
std::string gone_url() {
  scripted_receiver gone;
  return gone.url();
}

/// Runs promtool's own check of the text exposition; returns its exit code and output.
std::pair<int, std::string> promtool_check(const std::string& text) {
  const char* env = std::getenv("RUNDUN_PROMTOOL");
  std::string tool = env ? env : "";
  BOOST_TEST_REQUIRE(std::filesystem::exists(tool),
                     "no promtool at RUNDUN_PROMTOOL='" << tool << "': run cmake/test_tools.sh");
  temp_dir dir;
  auto input = dir.path() / "scrape.txt";
  std::ofstream(input) << text;
  auto cmd = tool + " check metrics < " + input.string() + " 2>&1";
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  BOOST_TEST_REQUIRE(p != nullptr);
  char buf[4096];
  while (auto n = std::fread(buf, 1, sizeof buf, p))
    out.append(buf, n);
  int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

/// Every log line: one JSON object each.
std::vector<json::object> log_lines(const std::string& err) {
  std::vector<json::object> out;
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);) {
    if (line.empty())
      continue;
    boost::system::error_code ec;
    auto v = json::parse(line, ec);
    BOOST_TEST_REQUIRE(!ec, "a log line is not JSON: " << line);
    BOOST_TEST_REQUIRE(v.is_object(), "a log line is not an object: " << line);
    out.push_back(v.as_object());
  }
  return out;
}

std::string text(const json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : "";
}

/// A server with one run per kind of endpoint, each exited at once so that it fires one
/// `run.cancelled`; retries are far away, so each event makes exactly one attempt.
struct outcomes_fixture {
  scripted_receiver ok{answering(204)};
  scripted_receiver bad_request{answering(400)};
  scripted_receiver broken{answering(500)};
  scripted_receiver moved{[](const received&, std::size_t) {
    reply_plan p;
    p.status = 302;
    p.headers = {{"Location", "http://example.com/"}};
    return p;
  }};
  scripted_receiver hanging{[](const received&, std::size_t) {
    reply_plan p;
    p.hang = true;
    return p;
  }};
  // HTTPS with a certificate nobody trusts: the handshake fails verification.
  scripted_receiver untrusted{answering(204), self_signed("localhost")};
  temp_dir dir;
  server_process server{dir.str(), {"--retry-schedule", "10m", "--delivery-timeout", "500ms"}};
  api_client api = server.api();
  std::string tid = api.make_template(
      json::parse(R"({"name":"Ops","steps":[{"id":"a","title":"A","required":false}]})"));
  std::vector<std::string> runs;

  std::string dispatch(const std::string& url) {
    auto body = json::object{{"template_id", tid},
                             {"webhook", json::object{{"url", url}, {"secret", secret}}}};
    auto run = api.make_run(body);
    auto path = link_path(std::string(run.at("link").as_string()));
    BOOST_TEST_REQUIRE(http_call(server.port(), "POST", path + "/exit", "{}").status == 200);
    runs.emplace_back(run.at("id").as_string());
    return runs.back();
  }

  /// Waits until every run's one event has had its attempt.
  bool all_attempted() {
    return eventually(
        [&] {
          for (auto& id : runs) {
            auto ev = api.get("/v1/runs/" + id + "/events").json().at("events").as_array();
            if (ev.empty() || ev[0].at("delivery").at("attempts").as_array().empty())
              return false;
          }
          return true;
        },
        10s);
  }

  outcomes_fixture() {
    dispatch(ok.url());
    dispatch(bad_request.url());
    dispatch(broken.url());
    dispatch(moved.url());
    dispatch(hanging.url());
    dispatch(untrusted.url());
    dispatch(gone_url());
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(operations, outcomes_fixture)

BOOST_AUTO_TEST_CASE(metrics_pass_promtool_and_count_every_attempt_outcome) {
  BOOST_TEST_REQUIRE(all_attempted());
  auto scrape = http_call(server.port(), "GET", "/metrics");
  BOOST_TEST_REQUIRE(scrape.status == 200);
  BOOST_TEST(scrape.headers["content-type"].starts_with("text/plain; version=0.0.4"));

  auto [code, lint] = promtool_check(scrape.body);
  BOOST_TEST(code == 0, "promtool check metrics failed:\n" << lint);

  auto m = parse_prometheus_text(scrape.body);
  BOOST_TEST_REQUIRE(m.errors.empty(), "strict parse: " << m.errors.front());

  auto attempts = [&](const char* outcome) {
    return m.value("rundun_delivery_attempts_total", {{"outcome", outcome}});
  };
  BOOST_TEST(attempts("2xx") == 1);
  BOOST_TEST(attempts("3xx") == 1);
  BOOST_TEST(attempts("4xx") == 1);
  BOOST_TEST(attempts("5xx") == 1);
  BOOST_TEST(attempts("timeout") == 1);
  BOOST_TEST(attempts("tls") == 1);
  BOOST_TEST(attempts("connect") == 1);
  BOOST_TEST(attempts("refused-destination") == 0);
  BOOST_TEST(m.value("rundun_events_created_total", {{"type", "run.cancelled"}}) == 7);
  BOOST_TEST(m.value("rundun_deliveries_delivered_total") == 1);
  // 400 and 3xx and the rest wait for their retry in ten minutes: six pending, all on
  // 127.0.0.1, labelled by host alone (no port, no path).
  BOOST_TEST(m.value("rundun_deliveries_pending") == 6);
  BOOST_TEST(m.value("rundun_endpoint_backlog", {{"host", "127.0.0.1"}}) == 6);
  BOOST_TEST(m.value("rundun_delivery_latency_seconds_count") == 1);
  BOOST_TEST(m.value("rundun_delivery_latency_seconds_bucket", {{"le", "+Inf"}}) == 1);
  BOOST_TEST(m.value("rundun_lmdb_commit_duration_seconds_count") > 0);
  BOOST_TEST(m.value("rundun_lmdb_commit_batches_total") ==
             m.value("rundun_lmdb_commit_duration_seconds_count"));
  BOOST_TEST(m.value("rundun_api_requests_total", {{"route", "/v1/runs"}, {"status", "201"}}) == 7);
  BOOST_TEST(m.value("rundun_api_request_duration_seconds_count", {{"route", "/v1/runs"}}) == 7);
  BOOST_TEST(m.value("rundun_live_actors") > 0);
  BOOST_TEST(m.value("rundun_endpoint_actors") > 0);
  BOOST_TEST(m.value("rundun_open_connections") >= 1);
  // Families of every kind the issue names are there, with their types.
  BOOST_TEST(m.types["rundun_delivery_latency_seconds"] == "histogram");
  BOOST_TEST(m.types["rundun_api_request_duration_seconds"] == "histogram");
  BOOST_TEST(m.types["rundun_lmdb_commit_duration_seconds"] == "histogram");
  BOOST_TEST(m.types["rundun_deliveries_failed_total"] == "counter");
  BOOST_TEST(m.types["rundun_run_actors"] == "gauge");
  BOOST_TEST(m.types["rundun_runs"] == "gauge");
  BOOST_TEST(m.value("rundun_runs", {{"status", "active"}}) == 0); // all seven were cancelled
  BOOST_TEST(m.value("rundun_actor_failures_total", {{"kind", "run"}}) == 0);
  BOOST_TEST(m.value("rundun_actor_failures_total", {{"kind", "endpoint"}}) == 0);
  BOOST_TEST(m.value("rundun_log_lines_dropped_total") == 0);
  // No ids, tokens, paths or secrets.
  for (auto& id : runs)
    BOOST_TEST(scrape.body.find(id) == std::string::npos);
  BOOST_TEST(scrape.body.find("/hook") == std::string::npos);
  BOOST_TEST(scrape.body.find("whsec_") == std::string::npos);
  BOOST_TEST(scrape.body.find(server_process::test_key()) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(each_failed_attempt_is_logged_once_as_a_json_line_with_its_ids) {
  BOOST_TEST_REQUIRE(all_attempted());
  // An attempt's result is logged before it is persisted, and the events API shows it once
  // persisted; the log's own thread writes the line soon after: wait for it.
  auto failed_lines = [&] {
    int n = 0;
    for (auto& l : log_lines(server.stderr_text()))
      n += text(l, "message") == "delivery attempt failed";
    return n;
  };
  BOOST_TEST(eventually([&] { return failed_lines() >= 6; }));
  auto lines = log_lines(server.stderr_text());
  std::map<std::string, int> failed_by_event;
  std::set<std::string> reasons;
  for (auto& l : lines) {
    BOOST_TEST(!text(l, "time").empty());
    BOOST_TEST(!text(l, "level").empty());
    BOOST_TEST(!text(l, "message").empty());
    if (text(l, "message") != "delivery attempt failed")
      continue;
    BOOST_TEST(text(l, "level") == "info");
    BOOST_TEST(text(l, "run_id").starts_with("r-"));
    BOOST_TEST(text(l, "endpoint") == "127.0.0.1"); // the host, never the URL's path
    ++failed_by_event[text(l, "event_id")];
    reasons.insert(text(l, "reason"));
  }
  BOOST_TEST(failed_by_event.size() == 6u); // every attempt but the 204
  for (auto& [event, n] : failed_by_event)
    BOOST_TEST(n == 1, event << " was logged " << n << " times");
  BOOST_TEST(reasons.count("timeout") == 1);
  BOOST_TEST(reasons.count("http status 500") == 1);
  auto err = server.stderr_text();
  BOOST_TEST(err.find(secret) == std::string::npos);
  BOOST_TEST(err.find(server_process::test_key()) == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(a_name_that_resolves_to_a_private_address_counts_as_refused) {
  scripted_receiver ok{answering(204)};
  temp_dir dir;
  server_process server{dir.str(), {"--retry-schedule", "10m"}, true, {}, false};
  auto api = server.api();
  auto tid = api.make_template(
      json::parse(R"({"name":"Ops","steps":[{"id":"a","title":"A","required":false}]})"));
  auto run = api.make_run(json::object{
      {"template_id", tid},
      {"webhook", json::object{{"url", ok.url("/hook", "localhost")}, {"secret", secret}}}});
  auto path = link_path(std::string(run.at("link").as_string()));
  BOOST_TEST_REQUIRE(http_call(server.port(), "POST", path + "/exit", "{}").status == 200);
  prometheus_text m;
  BOOST_TEST(eventually([&] {
    m = parse_prometheus_text(http_call(server.port(), "GET", "/metrics").body);
    return m.value("rundun_delivery_attempts_total", {{"outcome", "refused-destination"}}) == 1;
  }));
  BOOST_TEST(ok.requests().empty());
}

BOOST_AUTO_TEST_CASE(the_log_level_flag_leaves_out_the_lower_levels) {
  scripted_receiver broken{answering(500)};
  temp_dir dir;
  server_process server{dir.str(), {"--retry-schedule", "10m", "--log-level", "warn"}};
  auto api = server.api();
  auto tid = api.make_template(
      json::parse(R"({"name":"Ops","steps":[{"id":"a","title":"A","required":false}]})"));
  auto run = api.make_run(json::object{
      {"template_id", tid}, {"webhook", json::object{{"url", broken.url()}, {"secret", secret}}}});
  auto path = link_path(std::string(run.at("link").as_string()));
  BOOST_TEST_REQUIRE(http_call(server.port(), "POST", path + "/exit", "{}").status == 200);
  BOOST_TEST_REQUIRE(broken.wait_for(1, 5s));
  std::this_thread::sleep_for(200ms);
  for (auto& l : log_lines(server.stderr_text())) {
    BOOST_TEST(text(l, "level") != "info");
    BOOST_TEST(text(l, "level") != "debug");
  }
}
