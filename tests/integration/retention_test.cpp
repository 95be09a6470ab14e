// Retention on a real rundund (--retention-days with a fraction of a day): ended runs go
// with their events, attempts, photos and link, and an endpoint with its last event; active
// runs and runs still delivering stay;
// the freed pages are reused, so the data file stops growing under steady load.

#include "tests/support/prometheus_text.hpp"
#include "tests/support/scripted_receiver.hpp"
#include "tests/support/server_process.hpp"

#define BOOST_TEST_MODULE retention
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

using namespace rundun::test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

/// 0.00002 days is 1.728 s.
constexpr const char* short_retention = "0.00002";

std::string photo_bytes() {
  std::ifstream in{std::string(RUNDUN_TEST_DATA) + "/photo.jpg", std::ios::binary};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

double metric(std::uint16_t port, const std::string& name) {
  auto m = parse_prometheus_text(http_call(port, "GET", "/metrics").body);
  return m.value(name);
}

struct fixture {
  temp_dir dir;
  server_process server{dir.str(), {"--retention-days", short_retention, "--retry-schedule", "1h"}};
  api_client api = server.api();
  std::string tmpl = api.make_template(json::parse(R"({"name":"Retention","steps":[
      {"id":"door","title":"Photo of the door","photos_required":1,"required":false}]})"));

  json::object run(const std::string& extra = "", double hours = 1) {
    return api.make_run(json::parse(R"({"template_id":")" + tmpl + R"(","expires_in_hours":)" +
                                    std::to_string(hours) + extra + "}"));
  }
  std::string id_of(const json::object& r) { return std::string(r.at("id").as_string()); }
  std::string path_of(const json::object& r) {
    return link_path(std::string(r.at("link").as_string()));
  }
  /// Uploads a photo to the run's door step; returns its id.
  std::string add_photo(const json::object& r) {
    auto res = http_call(server.port(), "POST", path_of(r) + "/steps/door/photos", photo_bytes(),
                         {{"Content-Type", "image/jpeg"}});
    BOOST_REQUIRE(res.status == 201);
    return std::string(res.json().at("photo_id").as_string());
  }
  void leave(const json::object& r) {
    BOOST_REQUIRE(http_call(server.port(), "POST", path_of(r) + "/exit").status == 200);
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(retention, fixture)

BOOST_AUTO_TEST_CASE(ended_runs_go_active_and_delivering_runs_stay) {
  auto ended = run();
  auto photo = add_photo(ended);
  leave(ended);
  auto active = run(); // an hour to go: active long after the retention period
  // A run whose webhook is down: its run.cancelled waits an hour for its retry, so the run
  // stays although it ended, until its deliveries end.
  std::uint16_t dead_port = 0;
  {
    scripted_receiver gone;
    dead_port = gone.port();
  }
  auto delivering =
      run(R"(,"webhook":{"url":"http://127.0.0.1:)" + std::to_string(dead_port) + R"(/hook"})");
  leave(delivering);

  BOOST_TEST_REQUIRE(
      eventually([&] { return api.get("/v1/runs/" + id_of(ended)).status == 404; }, 20s));
  BOOST_TEST(api.get("/v1/runs/" + id_of(ended)).error_code() == "run_not_found");
  BOOST_TEST(api.get("/v1/runs/" + id_of(ended) + "/events").status == 404);
  BOOST_TEST(http_call(server.port(), "GET", path_of(ended) + "/state").status == 404);
  BOOST_TEST(api.get("/v1/photos/" + photo).status == 404);

  // Well past the period: the active run and the delivering one are still there.
  BOOST_TEST(api.get("/v1/runs/" + id_of(active)).json().at("status").as_string() == "active");
  auto kept = api.get("/v1/runs/" + id_of(delivering));
  BOOST_TEST(kept.status == 200);
  auto events = api.get("/v1/runs/" + id_of(delivering) + "/events").json().at("events");
  BOOST_TEST(events.as_array().at(0).at("delivery").at("status").as_string() == "pending");

  BOOST_TEST(metric(server.port(), "rundun_retention_removed_runs_total") == 1);
  BOOST_TEST(metric(server.port(), "rundun_retention_removed_events_total") == 1);
}

BOOST_AUTO_TEST_CASE(an_endpoint_leaves_the_endpoint_list_with_its_last_run) {
  scripted_receiver shop; // answers 200
  std::uint16_t dead_port = 0;
  {
    scripted_receiver gone;
    dead_port = gone.port();
  }
  auto hook = [](std::uint16_t port) {
    return R"(,"webhook":{"url":"http://127.0.0.1:)" + std::to_string(port) + R"(/hook"})";
  };
  auto delivered = run(hook(shop.port()));
  leave(delivered);
  auto delivering = run(hook(dead_port)); // its run.cancelled waits an hour for its retry
  leave(delivering);
  auto urls = [&] {
    std::set<std::string> out;
    auto listed = api.get("/v1/endpoints").json();
    for (auto& e : listed.at("endpoints").as_array())
      out.emplace(e.at("url").as_string());
    return out;
  };
  auto shop_url = "http://127.0.0.1:" + std::to_string(shop.port()) + "/hook";
  auto dead_url = "http://127.0.0.1:" + std::to_string(dead_port) + "/hook";
  BOOST_REQUIRE(shop.wait_for(1, 10s));
  // Once its only run is removed, the shop has no event left: it is listed no more.
  BOOST_TEST_REQUIRE(
      eventually([&] { return api.get("/v1/runs/" + id_of(delivered)).status == 404; }, 20s));
  BOOST_TEST((urls() == std::set<std::string>{dead_url}));
  BOOST_TEST(api.get("/v1/endpoints?status=healthy").json().at("endpoints").as_array().empty());
  BOOST_TEST(
      api.post_json("/v1/endpoints/recover", {{"url", shop_url}, {"since", "2000-01-01T00:00:00Z"}})
          .error_code() == "endpoint_not_found");
}

BOOST_AUTO_TEST_CASE(freed_pages_are_reused_so_the_file_stops_growing) {
  // Rounds of runs, each with a photo, ended at once and removed by retention. Once
  // retention keeps pace, each round's pages are the ones the previous rounds freed.
  constexpr int rounds = 8, runs_per_round = 40;
  auto data_file = dir.path() / "data.mdb";
  std::vector<std::uintmax_t> sizes;
  for (int round = 0; round < rounds; ++round) {
    for (int i = 0; i < runs_per_round; ++i) {
      auto r = run();
      add_photo(r);
      leave(r);
    }
    auto removed = static_cast<double>((round + 1) * runs_per_round);
    BOOST_TEST_REQUIRE(eventually(
        [&] { return metric(server.port(), "rundun_retention_removed_runs_total") >= removed; },
        30s));
    sizes.push_back(std::filesystem::file_size(data_file));
  }
  std::ostringstream shown;
  for (auto s : sizes)
    shown << s / 1024 << " KiB ";
  BOOST_TEST_MESSAGE("data.mdb after each round: " << shown.str());
  // The first rounds grow the file; over the second half it stays where it was (a few pages
  // of slack for LMDB's freelist itself). On a loaded machine, readers that still hold old
  // snapshots delay the reuse by a round or two (seen: 624 624 652 708 832 832 836 836 KiB
  // under stress --cpu 2), so the bound is taken from the middle round, not the third.
  BOOST_TEST(sizes.back() <= sizes[rounds / 2] + 64 * 1024, "sizes: " << shown.str());
}

BOOST_AUTO_TEST_SUITE_END()
