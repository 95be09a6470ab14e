// Data dirs written by older rundunds opened by this one: moved over in place at start, step
// by step to format 8, with their progress logged, and nothing in them lost or changed.
//
// tests/data/format3 was made by tests/data/format3/make_fixture.py with a real format 3
// rundund (commit 41936e5), tests/data/format6 by the same script with a real format 6
// rundund (commit 4be1727), and tests/data/format7 by it with `--first-attempt-waiting` and a
// real format 7 rundund (commit 322ed99). Each holds runs in every state, events waiting for
// their second attempt, and photos; format 7's also an event whose first attempt was in
// flight when its server was killed. expected.json is what that server answered for them.

#include "net/signature.hpp"
#include "tests/support/scripted_receiver.hpp"
#include "tests/support/server_process.hpp"

#define BOOST_TEST_MODULE upgrade
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <fstream>
#include <map>
#include <set>
#include <zlib.h>

using namespace rundun;
using namespace rundun::test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

// Where the fixture's webhooks point (make_fixture.py), and their secret.
constexpr std::uint16_t receiver_port = 47913;
const std::string secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
// The servers here start their clock just after each fixture was written (format 3's events'
// second attempts were due by 2026-11-30T09:13:28, format 6's by 2026-12-05T17:44:57), so
// that their active runs (expiring a day later) are still active and their ended ones are
// within retention, whatever today's date is.
using environment = std::map<std::string, std::string>;
const environment format3_clock{{"RUNDUN_CLOCK_START", "2026-11-30T09:14:00Z"}};
const environment format6_clock{{"RUNDUN_CLOCK_START", "2026-12-05T17:46:00Z"}};
const environment format7_clock{{"RUNDUN_CLOCK_START", "2026-12-05T23:21:00Z"}};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

/// Unpacks the gzipped LMDB file of the fixture at `fixture` into `dir`.
void unpack_data_dir(const std::string& fixture, const std::filesystem::path& dir) {
  auto* in = gzopen((fixture + "/data.mdb.gz").c_str(), "rb");
  BOOST_REQUIRE(in != nullptr);
  std::ofstream out(dir / "data.mdb", std::ios::binary);
  char buf[1 << 16];
  for (int n; (n = gzread(in, buf, sizeof buf)) > 0;)
    out.write(buf, n);
  gzclose(in);
  BOOST_REQUIRE(out.good());
}

/// The run as the old server answered it, with its link reduced to the path: the link's host
/// is the old server's address.
json::value without_host(json::value run) {
  auto& link = run.as_object()["link"];
  link = link_path(std::string(link.as_string()));
  return run;
}

struct upgrade_fixture {
  std::string fixture;
  environment fixture_clock;
  json::object expected = json::parse(read_file(fixture + "/expected.json")).as_object();
  temp_dir dir;
  scripted_receiver rx{{}, {}, "127.0.0.1", receiver_port};

  upgrade_fixture(const char* name, environment clock)
      : fixture(std::string(RUNDUN_TEST_DATA) + "/" + name), fixture_clock(std::move(clock)) {
    unpack_data_dir(fixture, dir.path());
  }

  json::object& expected_run(const char* name) { return expected.at("runs").at(name).as_object(); }
  std::string run_id(const char* name) {
    return std::string(expected_run(name).at("run").at("id").as_string());
  }
  /// The webhook events the fixture left waiting for their next attempt, with the number of
  /// attempts each had.
  std::map<std::string, std::size_t> waiting_events() {
    std::map<std::string, std::size_t> out;
    for (auto& [name, run] : expected.at("runs").as_object())
      for (auto& e : run.at("events").as_array())
        if (e.at("delivery").at("status") == "pending")
          out[std::string(e.at("event_id").as_string())] =
              e.at("delivery").at("attempts").as_array().size();
    return out;
  }
  /// The webhook URLs of the fixture's runs: its endpoints.
  std::set<std::string> endpoints() {
    std::set<std::string> out;
    for (auto& [name, run] : expected.at("runs").as_object())
      if (auto* hook = run.at("run").as_object().if_contains("webhook"); hook && hook->is_object())
        out.insert(std::string(hook->at("url").as_string()));
    return out;
  }
};

} // namespace

struct format3 : upgrade_fixture {
  format3() : upgrade_fixture("format3", format3_clock) {}
};
struct format6 : upgrade_fixture {
  format6() : upgrade_fixture("format6", format6_clock) {}
};
struct format7 : upgrade_fixture {
  format7() : upgrade_fixture("format7", format7_clock) {}
};

/// What every moved-over data dir must show: everything the old server answered, the same,
/// and each waiting event's next attempt sent promptly (`waiting` of them).
void keeps_everything(upgrade_fixture& f, server_process& server, std::size_t waiting = 6);

BOOST_FIXTURE_TEST_CASE(a_format_3_data_dir_is_moved_over_at_start_and_keeps_everything, format3) {
  server_process server(dir.str(), {}, true, fixture_clock);

  // The move was logged, with its progress: start and end, and how many runs.
  auto log = server.stderr_text();
  BOOST_TEST(log.find(R"("message":"moving the store to a new format","from_format":"3",)"
                      R"("to_format":"4","runs_done":"0","runs_total":"5")") != std::string::npos);
  BOOST_TEST(log.find(R"("message":"the store is in the new format","from_format":"3",)"
                      R"("to_format":"4","runs_done":"5","runs_total":"5")") != std::string::npos);
  // Then the list indexes were built (format 5), and the lists hold every run and event.
  BOOST_TEST(log.find(R"("message":"the store is in the new format","from_format":"4",)"
                      R"("to_format":"5","runs_done":"5","runs_total":"5")") != std::string::npos);
  // Then the endpoint index (format 6), over the fixture's one webhook URL.
  BOOST_TEST(log.find(R"("message":"moving the store to a new format","from_format":"5",)"
                      R"("to_format":"6","endpoints_done":"0","endpoints_total":"1")") !=
             std::string::npos);
  BOOST_TEST(log.find(R"("message":"the store is in the new format","from_format":"5",)"
                      R"("to_format":"6","endpoints_done":"1","endpoints_total":"1")") !=
             std::string::npos);
  // Then the delivery log (format 7): every event record kept as it is.
  BOOST_TEST(log.find(R"("message":"the store is in the new format","from_format":"6",)"
                      R"("to_format":"7")") != std::string::npos);
  keeps_everything(*this, server);
}

BOOST_FIXTURE_TEST_CASE(a_format_6_data_dir_is_moved_over_at_start_and_keeps_everything, format6) {
  server_process server(dir.str(), {}, true, fixture_clock);
  auto log = server.stderr_text();
  BOOST_TEST(log.find(R"("message":"moving the store to a new format","from_format":"6",)"
                      R"("to_format":"7")") != std::string::npos);
  BOOST_TEST(log.find(R"("message":"the store is in the new format","from_format":"6",)"
                      R"("to_format":"7")") != std::string::npos);
  BOOST_TEST(log.find(R"("from_format":"5")") == std::string::npos);
  BOOST_TEST(log.find(R"("from_format":"7","to_format":"8")") != std::string::npos);
  keeps_everything(*this, server);
}

BOOST_FIXTURE_TEST_CASE(a_format_7_data_dir_keeps_an_event_waiting_for_its_first_attempt, format7) {
  server_process server(dir.str(), {}, true, fixture_clock);
  // Its pending entries of first attempts went, counted (7 entries: 6 retries and the one
  // first attempt), and the mark took their place.
  auto log = server.stderr_text();
  BOOST_TEST(
      log.find(R"("message":"moving the store to a new format","from_format":"7",)"
               R"("to_format":"8","pending_entries_done":"0","pending_entries_total":"7")") !=
      std::string::npos);
  BOOST_TEST(
      log.find(R"("message":"the store is in the new format","from_format":"7",)"
               R"("to_format":"8","pending_entries_done":"7","pending_entries_total":"7")") !=
      std::string::npos);
  BOOST_TEST(log.find(R"("from_format":"6")") == std::string::npos);
  // The event whose first attempt was in flight when the old server was killed gets it now,
  // once, with the six retries.
  keeps_everything(*this, server, 7);
}

void keeps_everything(upgrade_fixture& f, server_process& server, std::size_t waiting_count) {
  auto& expected = f.expected;
  auto& rx = f.rx;
  auto api = server.api();
  auto runs = api.get("/v1/runs?limit=500").json().at("runs").as_array();
  BOOST_TEST(runs.size() == expected.at("runs").as_object().size());
  std::size_t events = 0;
  for (auto& [name, run] : expected.at("runs").as_object())
    events += api.get("/v1/runs/" + std::string(run.at("run").at("id").as_string()) + "/events")
                  .json()
                  .at("events")
                  .as_array()
                  .size();
  BOOST_TEST(api.get("/v1/events?limit=500").json().at("events").as_array().size() == events);
  BOOST_TEST(api.get("/v1/endpoints").json().at("endpoints").as_array().size() ==
             f.endpoints().size());

  // The template and every run read back as the old server answered them.
  auto& tmpl = expected.at("template").as_object();
  BOOST_TEST(api.get("/v1/templates/" + std::string(tmpl.at("id").as_string())).json() == tmpl);
  for (auto& [name, run] : expected.at("runs").as_object()) {
    BOOST_TEST_CONTEXT("run " << name) {
      auto id = std::string(run.at("run").at("id").as_string());
      auto got = api.get("/v1/runs/" + id);
      BOOST_TEST(got.status == 200);
      BOOST_TEST(without_host(got.json()) == without_host(run.at("run")));
      auto state =
          http_call(server.port(), "GET", std::string(run.at("link").as_string()) + "/state");
      BOOST_TEST(state.status == 200);
      BOOST_TEST(state.json().at("status") == run.at("run").at("status"));
    }
  }

  // The photos' bytes are there.
  auto photo = read_file(std::string(RUNDUN_TEST_DATA) + "/photo.jpg");
  for (auto name : {"active", "completed", "no_webhook"}) {
    auto& ids = f.expected_run(name).at("run").at("steps").at(0).at("photos").as_array();
    BOOST_REQUIRE(ids.size() == 1u);
    auto got = api.get("/v1/photos/" + std::string(ids[0].as_string()));
    BOOST_TEST(got.status == 200);
    BOOST_TEST((got.body == photo));
  }

  // Each event waiting for its next attempt gets it, signed, promptly: it was due long ago.
  auto waiting = f.waiting_events();
  BOOST_REQUIRE(waiting.size() == waiting_count);
  BOOST_REQUIRE(rx.wait_for(waiting.size(), 10s));
  net::webhook_signer signer{*net::parse_secret(secret)};
  std::map<std::string, std::size_t> arrived;
  for (auto& r : rx.requests()) {
    auto id = r.header("webhook-id");
    arrived[id] = waiting.count(id) ? waiting.at(id) : 99;
    BOOST_TEST(r.json().at("delivery_attempt") == arrived[id] + 1);
    auto ts = std::stoll(r.header("webhook-timestamp"));
    BOOST_TEST(r.header("webhook-signature") == signer.sign(r.header("webhook-id"), ts, r.body));
  }
  BOOST_TEST((arrived == waiting));

  // Every event keeps its attempts as they were, and now shows the next one; the events of
  // the run without a webhook are as they were.
  for (auto& [name, run] : expected.at("runs").as_object()) {
    auto id = std::string(run.at("run").at("id").as_string());
    BOOST_TEST_CONTEXT("run " << name) {
      auto& before = run.at("events").as_array();
      json::array after;
      BOOST_TEST(eventually([&] {
        after = api.get("/v1/runs/" + id + "/events").json().at("events").as_array();
        for (auto& e : after)
          if (e.at("delivery").at("status") == "pending")
            return false;
        return true;
      }));
      BOOST_REQUIRE(after.size() == before.size());
      for (std::size_t i = 0; i < after.size(); ++i) {
        auto& b = before[i].as_object();
        auto& a = after[i].as_object();
        BOOST_TEST(a.at("event_id") == b.at("event_id"));
        BOOST_TEST(a.at("event") == b.at("event"));
        BOOST_TEST(a.at("created_at") == b.at("created_at"));
        if (b.at("delivery").at("status") == "not_subscribed") {
          BOOST_TEST(a == b);
          continue;
        }
        auto& attempts = a.at("delivery").at("attempts").as_array();
        auto& earlier = b.at("delivery").at("attempts").as_array();
        BOOST_REQUIRE(attempts.size() == earlier.size() + 1);
        for (std::size_t k = 0; k < earlier.size(); ++k)
          BOOST_TEST(attempts[k] == earlier[k]);
        BOOST_TEST(attempts.back().at("status_code") == 200);
        BOOST_TEST(a.at("delivery").at("status") == "delivered");
      }
    }
  }
}

BOOST_FIXTURE_TEST_CASE(a_moved_over_run_goes_on_and_the_new_format_opens_without_a_move, format3) {
  auto link = std::string(expected_run("active").at("link").as_string());
  auto id = run_id("active");
  {
    server_process server(dir.str(), {}, true, fixture_clock);
    BOOST_REQUIRE(rx.wait_for(6, 10s));
    // The run that was active goes on: its new events are listed after the old one.
    BOOST_TEST(http_call(server.port(), "POST", link + "/steps/notes/skip").status == 200);
    BOOST_TEST(http_call(server.port(), "POST", link + "/submit").status == 200);
    BOOST_REQUIRE(rx.wait_for(8, 10s));
    BOOST_TEST(server.terminate() == 0);
  }
  server_process again(dir.str(), {}, true, fixture_clock);
  BOOST_TEST(again.stderr_text().find("moving the store") == std::string::npos);
  auto events = again.api().get("/v1/runs/" + id + "/events").json().at("events").as_array();
  std::vector<std::string> types;
  for (auto& e : events)
    types.emplace_back(e.at("event").as_string());
  BOOST_TEST(
      (types == std::vector<std::string>{"step.completed", "step.skipped", "run.completed"}));
  BOOST_TEST(events[0].at("event_id") == expected_run("active").at("events").at(0).at("event_id"));
  BOOST_TEST(again.api().get("/v1/runs/" + id).json().at("status") == "completed");
}
