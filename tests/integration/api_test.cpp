// The HTTP API of a real rundund on loopback: auth, routes, validation, and the executor
// routes (contract §2–§6).

#include "tests/support/server_process.hpp"

#define BOOST_TEST_MODULE api
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <sys/wait.h>

using namespace rundun::test;
namespace json = boost::json;

namespace {

struct server_fixture {
  temp_dir dir;
  server_process server{dir.str()};
  api_client api = server.api();

  std::string checklist() {
    return api.make_template(json::parse(R"({"name":"Checkout inspection","steps":[
      {"id":"kitchen","title":"Kitchen is clean","required":true},
      {"id":"notes","title":"Anything broken?","required":false},
      {"id":"door","title":"Photo of the door","photos_required":1}]})"));
  }

  /// A new run and its link path.
  std::pair<json::object, std::string> dispatch(const std::string& extra = "") {
    auto run = api.make_run(json::parse(R"({"template_id":")" + checklist() + "\"" + extra + "}"));
    return {run, link_path(std::string(run.at("link").as_string()))};
  }

  http_result link(const std::string& method, const std::string& path,
                   const std::string& body = "") {
    return http_call(server.port(), method, path, body);
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(api, server_fixture)

BOOST_AUTO_TEST_CASE(healthz_answers_without_auth) {
  auto r = http_call(server.port(), "GET", "/healthz");
  BOOST_TEST(r.status == 200);
  BOOST_TEST((r.json().at("status").as_string() == "ok"));
}

BOOST_AUTO_TEST_CASE(v1_needs_the_key_before_routing) {
  BOOST_TEST(http_call(server.port(), "GET", "/v1/templates/t-x").status == 401);
  auto wrong = http_call(server.port(), "GET", "/v1/templates/t-x", "",
                         {{"Authorization", "Bearer not-the-key"}});
  BOOST_TEST(wrong.status == 401);
  BOOST_TEST(wrong.error_code() == "unauthorized");
  BOOST_TEST(http_call(server.port(), "GET", "/v1/no/such/route").status == 401);
  BOOST_TEST(api.get("/v1/no/such/route").status == 404);
}

BOOST_AUTO_TEST_CASE(unknown_routes_and_methods) {
  auto r = http_call(server.port(), "GET", "/nope");
  BOOST_TEST(r.status == 404);
  BOOST_TEST(r.error_code() == "not_found");
  auto m = api.get("/v1/templates");
  BOOST_TEST(m.status == 405);
  BOOST_TEST(m.error_code() == "method_not_allowed");
  BOOST_TEST(m.headers["allow"] == "POST");
  BOOST_TEST(http_call(server.port(), "DELETE", "/healthz").status == 405);
  // A route with two methods names both.
  auto runs = http_call(server.port(), "DELETE", "/v1/runs", "",
                        {{"authorization", "Bearer " + server_process::test_key()}});
  BOOST_TEST(runs.status == 405);
  BOOST_TEST(runs.headers["allow"] == "GET, POST");
  BOOST_TEST(api.post("/v1/events").status == 405);
  BOOST_TEST(api.post("/v1/endpoints").headers["allow"] == "GET");
  BOOST_TEST(api.get("/v1/endpoints/recover").headers["allow"] == "POST");
}

BOOST_AUTO_TEST_CASE(templates_are_created_with_defaults_and_read_back) {
  auto r = api.post(R"(/v1/templates)",
                    R"({"name":"T","steps":[{"title":"One"},{"title":"Two","required":false}]})");
  BOOST_TEST(r.status == 201);
  auto t = r.json().as_object();
  auto id = std::string(t.at("id").as_string());
  BOOST_TEST(id.starts_with("t-"));
  BOOST_TEST(id.size() == 38u);
  BOOST_TEST((t.at("steps").at(0).at("id").as_string() == "step-1"));
  BOOST_TEST((t.at("steps").at(1).at("required").as_bool() == false));
  BOOST_TEST((t.at("steps").at(1).at("photos_required").as_int64() == 0));
  BOOST_TEST(t.at("created_at").as_string().ends_with("Z"));
  auto back = api.get("/v1/templates/" + id);
  BOOST_TEST(back.status == 200);
  BOOST_TEST(back.json() == r.json());
  BOOST_TEST(api.get("/v1/templates/t-00000000-0000-4000-8000-000000000000").error_code() ==
             "template_not_found");
}

BOOST_AUTO_TEST_CASE(a_run_shows_its_secret_once) {
  auto tid = checklist();
  auto r = api.post_json(
      "/v1/runs",
      json::parse(R"({"template_id":")" + tid +
                  R"(","webhook":{"url":"http://127.0.0.1:9/h"},"metadata":{"booking":"B-1"}})"));
  BOOST_REQUIRE(r.status == 201);
  auto run = r.json().as_object();
  BOOST_TEST((run.at("status").as_string() == "active"));
  BOOST_TEST(run.at("id").as_string().starts_with("r-"));
  BOOST_TEST(run.at("webhook").at("secret").as_string().starts_with("whsec_"));
  BOOST_TEST((run.at("webhook").at("events").as_array().size() == 5u));
  BOOST_TEST((run.at("metadata").at("booking").as_string() == "B-1"));
  BOOST_TEST((run.at("steps").at(0).at("status").as_string() == "pending"));
  auto link = std::string(run.at("link").as_string());
  BOOST_TEST(link.starts_with("http://127.0.0.1:" + std::to_string(server.port()) + "/r/"));
  auto again = api.get("/v1/runs/" + std::string(run.at("id").as_string())).json().as_object();
  BOOST_TEST(!again.at("webhook").as_object().contains("secret"));
  BOOST_TEST((again.at("link") == run.at("link")));

  auto given = api.post_json(
      "/v1/runs",
      json::parse(
          R"({"template_id":")" + tid +
          R"(","webhook":{"url":"http://127.0.0.1:9/h","secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}})"));
  BOOST_TEST(!given.json().at("webhook").as_object().contains("secret"));
  auto none = api.post_json("/v1/runs", json::parse(R"({"template_id":")" + tid + R"("})"));
  BOOST_TEST(none.json().at("webhook").is_null());
  BOOST_TEST(none.json().at("metadata").as_object().empty());
}

BOOST_AUTO_TEST_CASE(a_table_of_bad_inputs) {
  auto tid = checklist();
  struct row {
    std::string target, body;
    int status;
    std::string code, names;
  };
  std::vector<row> rows = {
      {"/v1/templates", "{", 400, "invalid_json", ""},
      {"/v1/templates", "[]", 400, "invalid_field", "JSON object"},
      {"/v1/templates", R"({"steps":[{"title":"a"}]})", 400, "invalid_field", "name"},
      {"/v1/templates", R"({"name":"n","steps":[]})", 400, "invalid_field", "steps"},
      {"/v1/templates", R"({"name":"n","steps":[{"id":"A B","title":"a"}]})", 400, "invalid_field",
       "steps[0].id"},
      {"/v1/templates", R"({"name":"n","steps":[{"id":"a","title":"a"},{"id":"a","title":"b"}]})",
       400, "invalid_field", "steps[1].id"},
      {"/v1/templates", R"({"name":"n","steps":[{"title":""}]})", 400, "invalid_field",
       "steps[0].title"},
      {"/v1/templates", R"({"name":"n","steps":[{"title":"a","photos_required":21}]})", 400,
       "invalid_field", "photos_required"},
      {"/v1/templates", R"({"name":"n","steps":[{"title":"a","photos_required":-1}]})", 400,
       "invalid_field", "photos_required"},
      {"/v1/templates", R"({"name":"n","steps":[{"title":"a","required":1}]})", 400,
       "invalid_field", "steps[0].required"},
      {"/v1/runs", R"({})", 400, "invalid_field", "template_id"},
      {"/v1/runs", R"({"template_id":"t-nope"})", 404, "template_not_found", ""},
      {"/v1/runs", R"({"template_id":")" + tid + R"(","expires_in_hours":0})", 400, "invalid_field",
       "expires_in_hours"},
      {"/v1/runs", R"({"template_id":")" + tid + R"(","expires_in_hours":-1})", 400,
       "invalid_field", "expires_in_hours"},
      {"/v1/runs", R"({"template_id":")" + tid + R"(","expires_in_hours":721})", 400,
       "invalid_field", "expires_in_hours"},
      {"/v1/runs", R"({"template_id":")" + tid + R"(","expires_in_hours":"24"})", 400,
       "invalid_field", "expires_in_hours"},
      {"/v1/runs", R"({"template_id":")" + tid + R"(","metadata":"x"})", 400, "invalid_field",
       "metadata"},
      {"/v1/runs", R"({"template_id":")" + tid + R"(","webhook":{"url":"ftp://x/"}})", 400,
       "invalid_field", "webhook.url"},
      {"/v1/runs", R"({"template_id":")" + tid + R"(","webhook":{"url":"not a url"}})", 400,
       "invalid_field", "webhook.url"},
      {"/v1/runs",
       R"({"template_id":")" + tid + R"(","webhook":{"url":"http://x/","events":["run.started"]}})",
       400, "invalid_field", "webhook.events[0]"},
      {"/v1/runs",
       R"({"template_id":")" + tid +
           R"(","webhook":{"url":"http://x/","secret":"whsec_tooshort"}})",
       400, "invalid_secret", "webhook.secret"},
      {"/v1/runs",
       R"({"template_id":")" + tid +
           R"(","webhook":{"url":"http://x/","secret":"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}})",
       400, "invalid_secret", "webhook.secret"},
  };
  for (auto& r : rows) {
    auto res = api.post(r.target, r.body);
    BOOST_TEST(res.status == r.status, r.body);
    BOOST_TEST(res.error_code() == r.code, r.body);
    auto message = std::string(res.json().at("error").at("message").as_string());
    BOOST_TEST(message.find(r.names) != std::string::npos, r.body << " -> " << message);
  }
}

BOOST_AUTO_TEST_CASE(json_routes_ignore_the_content_type) {
  auto r =
      http_call(server.port(), "POST", "/v1/templates", R"({"name":"n","steps":[{"title":"a"}]})",
                {{"Authorization", "Bearer " + api.key}, {"Content-Type", "text/plain"}});
  BOOST_TEST(r.status == 201);
}

BOOST_AUTO_TEST_CASE(bodies_over_one_mebibyte_are_413) {
  std::string big = R"({"name":")" + std::string((1 << 20) + 10, 'x') + R"(","steps":[]})";
  auto r = api.post("/v1/templates", big);
  BOOST_TEST(r.status == 413);
  BOOST_TEST(r.error_code() == "body_too_large");
}

namespace {

/// Runs a shell command and returns its exit code and what it printed.
std::pair<int, std::string> shell(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p)
    return {-1, {}};
  char buf[4096];
  while (auto n = std::fread(buf, 1, sizeof buf, p))
    out.append(buf, n);
  int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

/// A file of `n` bytes, removed with the temp dir.
std::string big_file(const temp_dir& dir, const std::string& name, std::size_t n) {
  auto path = (dir.path() / name).string();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  std::string chunk(1 << 20, 'x');
  for (std::size_t left = n; left > 0;) {
    auto k = std::min(left, chunk.size());
    std::fwrite(chunk.data(), 1, k, f);
    left -= k;
  }
  std::fclose(f);
  return path;
}

} // namespace

BOOST_AUTO_TEST_CASE(curl_sending_a_whole_oversized_body_gets_the_413_not_a_reset) {
  // curl --data-binary sends the whole body; the server answers 413 after the headers and
  // drains the rest, so curl reads the JSON error instead of failing on a reset.
  temp_dir files;
  auto base = "http://127.0.0.1:" + std::to_string(server.port());
  auto json_body = big_file(files, "2mib.json", 2 << 20);
  auto [code, out] =
      shell("curl -sS --max-time 20 -w '\\n%{http_code}' -H 'Authorization: Bearer " +
            server_process::test_key() + "' -H 'Content-Type: application/json' " +
            "--data-binary @" + json_body + " " + base + "/v1/runs 2>&1");
  BOOST_TEST(code == 0, "curl failed: " << out);
  BOOST_TEST(out.ends_with("\n413"), out);
  BOOST_TEST(out.find("\"body_too_large\"") != std::string::npos, out);

  // The same for a photo over 10 MiB, on the link's photo route.
  auto [run, path] = dispatch();
  auto photo = big_file(files, "11mib.jpg", 11 << 20);
  auto [pcode, pout] =
      shell("curl -sS --max-time 20 -w '\\n%{http_code}' -H 'Content-Type: image/jpeg' "
            "--data-binary @" +
            photo + " " + base + path + "/steps/door/photos 2>&1");
  BOOST_TEST(pcode == 0, "curl failed: " << pout);
  BOOST_TEST(pout.ends_with("\n413"), pout);
  BOOST_TEST(pout.find("\"body_too_large\"") != std::string::npos, pout);
}

BOOST_AUTO_TEST_CASE(the_executor_drives_a_run_through_its_link) {
  auto [run, path] = dispatch();
  auto state = link("GET", path + "/state");
  BOOST_TEST(state.status == 200);
  BOOST_TEST(!state.json().as_object().contains("webhook"));
  BOOST_TEST(!state.json().as_object().contains("metadata"));

  auto answer =
      link("POST", path + "/steps/kitchen/answer", R"({"value":{"ok":true},"note":"fine"})");
  BOOST_TEST(answer.status == 200);
  BOOST_TEST((answer.json().at("steps").at(0).at("status").as_string() == "completed"));
  BOOST_TEST((answer.json().at("steps").at(0).at("answer").at("note").as_string() == "fine"));
  BOOST_TEST(link("POST", path + "/steps/kitchen/answer", "{}").status == 409);
  BOOST_TEST(link("POST", path + "/steps/kitchen/skip").status == 409);
  auto required = link("POST", path + "/steps/door/skip");
  BOOST_TEST(required.error_code() == "step_required");
  auto photos = link("POST", path + "/steps/door/answer", "{}");
  BOOST_TEST(photos.status == 409);
  BOOST_TEST(photos.error_code() == "photos_missing");
  BOOST_TEST(link("POST", path + "/steps/nope/answer", "{}").status == 404);
  BOOST_TEST(link("POST", path + "/steps/notes/answer", "{not json").error_code() ==
             "invalid_json");
  BOOST_TEST(link("POST", path + "/steps/notes/skip").status == 200);
  auto missing = link("POST", path + "/submit");
  BOOST_TEST(missing.status == 409);
  BOOST_TEST(missing.error_code() == "steps_missing");
  BOOST_TEST((missing.json().at("error").at("steps") == json::parse(R"(["door"])")));

  BOOST_TEST(link("POST", path + "/exit").status == 200);
  auto after = link("POST", path + "/submit");
  BOOST_TEST(after.status == 409);
  BOOST_TEST(after.error_code() == "run_not_active");
  auto stored = api.get("/v1/runs/" + std::string(run.at("id").as_string())).json();
  BOOST_TEST((stored.at("status").as_string() == "cancelled"));
  BOOST_TEST(stored.as_object().contains("ended_at"));
  auto events = api.get("/v1/runs/" + std::string(run.at("id").as_string()) + "/events").json();
  BOOST_TEST((events.at("events").as_array().size() == 3u));
  BOOST_TEST(
      (events.at("events").at(0).at("delivery").at("status").as_string() == "not_subscribed"));
}

BOOST_AUTO_TEST_CASE(unknown_links_are_404) {
  BOOST_TEST(link("GET", "/r/nope/state").status == 404);
  BOOST_TEST(link("POST", "/r/nope/submit").status == 404);
  auto page = link("GET", "/r/nope");
  BOOST_TEST(page.status == 404);
  BOOST_TEST(page.headers["content-type"].starts_with("text/html"));
}

BOOST_AUTO_TEST_CASE(the_link_page_is_html_with_safe_headers) {
  auto [run, path] = dispatch();
  auto page = link("GET", path);
  BOOST_TEST(page.status == 200);
  BOOST_TEST(page.headers["content-type"].starts_with("text/html"));
  BOOST_TEST(page.headers["cache-control"] == "no-store");
  BOOST_TEST(page.headers["referrer-policy"] == "no-referrer");
  auto csp = page.headers["content-security-policy"];
  BOOST_TEST(csp.find("default-src 'self'") != std::string::npos);
  BOOST_TEST(csp.find("img-src 'self' blob: data:") != std::string::npos);
  BOOST_TEST(csp.find("frame-ancestors 'none'") != std::string::npos);
  BOOST_TEST(csp.find("unsafe-inline") == std::string::npos);
  // A static shell: its script comes from /assets, none is inline, and the token is not in
  // it (the script reads it from the address).
  BOOST_TEST(page.body.find(R"(<script src="/assets/executor.js")") != std::string::npos);
  BOOST_TEST(page.body.find("<script>") == std::string::npos);
  BOOST_TEST(page.body.find(path.substr(3)) == std::string::npos);
  auto js = link("GET", "/assets/executor.js");
  BOOST_TEST(js.status == 200);
  BOOST_TEST(js.headers["content-type"].starts_with("text/javascript"));
  BOOST_TEST(js.body.find("/state") != std::string::npos);
  auto css = link("GET", "/assets/executor.css");
  BOOST_TEST(css.status == 200);
  BOOST_TEST(css.headers["content-type"].starts_with("text/css"));
  BOOST_TEST(link("GET", "/assets/other.js").status == 404);
}

BOOST_AUTO_TEST_CASE(cancel_ends_an_active_run_once) {
  auto [run, path] = dispatch();
  auto id = std::string(run.at("id").as_string());
  auto r = api.post("/v1/runs/" + id + "/cancel");
  BOOST_TEST(r.status == 200);
  BOOST_TEST((r.json().at("status").as_string() == "cancelled"));
  BOOST_TEST(api.post("/v1/runs/" + id + "/cancel").status == 409);
  BOOST_TEST(api.post("/v1/runs/r-nope/cancel").status == 404);
  BOOST_TEST(link("POST", path + "/steps/notes/skip").error_code() == "run_not_active");
  auto ev = api.get("/v1/runs/" + id + "/events").json().at("events");
  BOOST_TEST(ev.as_array().size() == 1u);
  BOOST_TEST((ev.at(0).at("event").as_string() == "run.cancelled"));
}

BOOST_AUTO_TEST_CASE(unknown_ids_are_404) {
  BOOST_TEST(api.get("/v1/runs/r-nope").error_code() == "run_not_found");
  BOOST_TEST(api.get("/v1/runs/r-nope/events").error_code() == "run_not_found");
  BOOST_TEST(api.post("/v1/events/evt-nope/redeliver").error_code() == "event_not_found");
  BOOST_TEST(api.get("/v1/photos/p-nope").status == 404);
}

BOOST_AUTO_TEST_CASE(photo_uploads_check_the_content_type) {
  auto [run, path] = dispatch();
  auto r = http_call(server.port(), "POST", path + "/steps/door/photos", "hello",
                     {{"Content-Type", "text/plain"}});
  BOOST_TEST(r.status == 415);
}

BOOST_AUTO_TEST_CASE(metrics_are_prometheus_text_without_secrets) {
  dispatch();
  auto m = http_call(server.port(), "GET", "/metrics");
  BOOST_TEST(m.status == 200);
  BOOST_TEST(m.headers["content-type"].starts_with("text/plain"));
  BOOST_TEST(m.body.find("# TYPE rundun_events_created_total counter") != std::string::npos);
  BOOST_TEST(m.body.find("rundun_api_requests_total{route=\"/v1/runs\",status=\"201\"}") !=
             std::string::npos);
  BOOST_TEST(m.body.find(api.key) == std::string::npos);
  BOOST_TEST(m.body.find("/r/") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
