// Idempotent creation (contract §4) through a real rundund on loopback: a key replays its
// first answer byte for byte, refuses another body or route, holds while its first request
// is handled, is not used up by a refused request, and survives a kill -9 that falls
// between the commit and the answer.

#include "tests/support/server_process.hpp"

#define BOOST_TEST_MODULE idempotency
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <future>
#include <set>

using namespace rundun::test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

const std::string template_body =
    R"({"name":"Checkout","steps":[{"id":"kitchen","title":"Kitchen"},{"id":"notes","title":"Notes","required":false}]})";

/// A run whose webhook secret the server generates: its first answer shows the secret.
std::string run_body(const std::string& tid, const std::string& booking = "B-1") {
  return R"({"template_id":")" + tid +
         R"(","webhook":{"url":"http://127.0.0.1:9/hook"},"metadata":{"booking":")" + booking +
         R"("}})";
}

http_result keyed_post(std::uint16_t port, const std::string& target, const std::string& body,
                       const std::string& key) {
  return http_call(
      port, "POST", target, body,
      {{"Authorization", "Bearer " + server_process::test_key()}, {"Idempotency-Key", key}});
}

/// Every run the server lists (one page: the tests make few).
std::set<std::string> run_ids(const api_client& api) {
  auto r = api.get("/v1/runs?limit=500");
  BOOST_REQUIRE_EQUAL(r.status, 200);
  std::set<std::string> out;
  auto doc = r.json();
  for (auto& run : doc.at("runs").as_array())
    out.insert(std::string(run.at("id").as_string()));
  return out;
}

struct server_fixture {
  temp_dir dir;
  server_process server{dir.str()};
  api_client api = server.api();
  std::string tid = api.make_template(json::parse(template_body));

  http_result post_run(const std::string& body, const std::string& key) {
    return keyed_post(server.port(), "/v1/runs", body, key);
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(idempotency, server_fixture)

BOOST_AUTO_TEST_CASE(the_same_key_and_body_get_the_first_answer_again_byte_for_byte) {
  auto first = post_run(run_body(tid), "order-1");
  BOOST_REQUIRE_EQUAL(first.status, 201);
  BOOST_TEST(!first.headers.count("idempotent-replayed"));
  auto id = std::string(first.json().at("id").as_string());
  BOOST_TEST(first.json().at("webhook").as_object().contains("secret"));
  // The run moves on; the replay is still its first answer.
  BOOST_REQUIRE_EQUAL(api.post("/v1/runs/" + id + "/cancel").status, 200);
  auto again = post_run(run_body(tid), "order-1");
  BOOST_TEST(again.status == 201);
  BOOST_TEST(again.headers["idempotent-replayed"] == "true");
  BOOST_TEST(again.body == first.body);
  BOOST_TEST(run_ids(api) == std::set<std::string>{id});

  auto t1 = keyed_post(server.port(), "/v1/templates", template_body, "tmpl-1");
  auto t2 = keyed_post(server.port(), "/v1/templates", template_body, "tmpl-1");
  BOOST_TEST(t1.status == 201);
  BOOST_TEST(t2.status == 201);
  BOOST_TEST(t2.body == t1.body);
  BOOST_TEST(t2.headers["idempotent-replayed"] == "true");
}

BOOST_AUTO_TEST_CASE(another_body_or_route_under_the_key_is_refused_and_changes_nothing) {
  auto first = post_run(run_body(tid), "order-2");
  BOOST_REQUIRE_EQUAL(first.status, 201);
  auto before = run_ids(api);
  auto other = post_run(run_body(tid, "B-2"), "order-2");
  BOOST_TEST(other.status == 409);
  BOOST_TEST(other.error_code() == "idempotency_key_reused");
  // The same JSON with other bytes is another body.
  auto spaced = post_run(" " + run_body(tid), "order-2");
  BOOST_TEST(spaced.error_code() == "idempotency_key_reused");
  auto route = keyed_post(server.port(), "/v1/templates", template_body, "order-2");
  BOOST_TEST(route.status == 409);
  BOOST_TEST(route.error_code() == "idempotency_key_reused");
  BOOST_TEST(run_ids(api) == before);
}

BOOST_AUTO_TEST_CASE(a_bad_key_is_400_naming_the_header_and_a_refused_request_keeps_its_key) {
  auto before = run_ids(api);
  // Too long, not ASCII, and a tab inside (which HTTP allows in a header value).
  for (auto bad : {std::string(256, 'k'), std::string("caf\xc3\xa9"), std::string("a\tb")}) {
    auto r = post_run(run_body(tid), bad);
    BOOST_TEST(r.status == 400);
    BOOST_TEST(r.error_code() == "invalid_idempotency_key");
    BOOST_TEST(r.body.find("Idempotency-Key") != std::string::npos);
  }
  auto missing = post_run(run_body("t-01a24935-f3c2-7000-996d-a43810c15f56"), "kept");
  BOOST_TEST(missing.status == 404);
  auto invalid = post_run(R"({"template_id":")" + tid + R"(","expires_in_hours":-1})", "kept");
  BOOST_TEST(invalid.status == 400);
  BOOST_TEST(run_ids(api) == before);
  auto made = post_run(run_body(tid), "kept");
  BOOST_TEST(made.status == 201);
  BOOST_TEST(!made.headers.count("idempotent-replayed"));
}

BOOST_AUTO_TEST_CASE(concurrent_requests_with_one_key_create_exactly_one_run) {
  auto before = run_ids(api);
  constexpr int callers = 12;
  std::promise<void> go;
  auto start = go.get_future().share();
  std::vector<std::future<http_result>> answers;
  for (int i = 0; i < callers; ++i)
    answers.push_back(std::async(std::launch::async, [&, start] {
      start.wait();
      return post_run(run_body(tid), "race");
    }));
  go.set_value();
  int made = 0, replayed = 0, in_progress = 0;
  std::set<std::string> ids;
  for (auto& a : answers) {
    auto r = a.get();
    if (r.status == 201) {
      (r.headers.count("idempotent-replayed") ? replayed : made) += 1;
      ids.insert(std::string(r.json().at("id").as_string()));
    } else {
      BOOST_TEST(r.status == 409);
      BOOST_TEST(r.error_code() == "idempotency_key_in_progress");
      ++in_progress;
    }
  }
  BOOST_TEST(made == 1);
  BOOST_TEST(ids.size() == 1u);
  BOOST_TEST(made + replayed + in_progress == callers);
  BOOST_TEST(run_ids(api).size() == before.size() + 1);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(a_kill_9_between_the_commit_and_the_answer_then_a_retry_gives_the_same_run) {
  temp_dir dir;
  std::string tid;
  {
    // This server stores every keyed creation and never answers it.
    server_process server{dir.str(), {}, true, {{"RUNDUN_TEST_DROP_KEYED_ANSWERS", "1"}}};
    tid = server.api().make_template(json::parse(template_body));
    auto lost = std::async(std::launch::async, [&] {
      try {
        return keyed_post(server.port(), "/v1/runs", run_body(tid), "lost-answer").status;
      } catch (const std::exception&) {
        return 0; // the connection died with the server: the client never got its answer
      }
    });
    BOOST_REQUIRE(eventually([&] {
      return server.stderr_text().find("a keyed creation's answer is dropped for a test") !=
             std::string::npos;
    }));
    server.kill9();
    BOOST_TEST(lost.get() == 0);
  }
  server_process server{dir.str()};
  auto retry = keyed_post(server.port(), "/v1/runs", run_body(tid), "lost-answer");
  BOOST_REQUIRE_EQUAL(retry.status, 201);
  BOOST_TEST(retry.headers["idempotent-replayed"] == "true");
  auto id = std::string(retry.json().at("id").as_string());
  BOOST_TEST(run_ids(server.api()) == std::set<std::string>{id});
  // The restarted server still answers the first run's secret, once more, to its creator.
  BOOST_TEST(retry.json().at("webhook").as_object().contains("secret"));
}
