// HTTPS delivery and the non-public destination guard, through a real rundund.

#include "tests/support/scripted_receiver.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/test_pki.hpp"

#define BOOST_TEST_MODULE security
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <fstream>

using namespace rundun::test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

/// Dispatches a one-step run to `url`, completes its step, and waits for the event to settle.
json::object deliver_one(const server_process& server, const std::string& url) {
  auto api = server.api();
  auto t = api.make_template(json::parse(R"({"name":"n","steps":[{"id":"a","title":"A"}]})"));
  auto run = api.make_run(
      json::parse(R"({"template_id":")" + t + R"(","webhook":{"url":")" + url + "\"}}"));
  auto id = std::string(run.at("id").as_string());
  http_call(server.port(), "POST",
            link_path(std::string(run.at("link").as_string())) + "/steps/a/answer", "{}");
  json::object event;
  eventually([&] {
    auto events = api.get("/v1/runs/" + id + "/events").json();
    event = events.at("events").at(0).as_object();
    auto& d = event.at("delivery");
    return d.at("status").as_string() != "pending" || !d.at("attempts").as_array().empty();
  });
  return event;
}

std::string first_error(const json::object& event) {
  auto& attempts = event.at("delivery").at("attempts").as_array();
  if (attempts.empty() || !attempts[0].as_object().contains("error"))
    return "";
  return std::string(attempts[0].at("error").as_string());
}

struct https_fixture {
  temp_dir dir;
  test_ca ca;
  std::string ca_file = (dir.path() / "ca.pem").string();
  https_fixture() { ca.write_cert(ca_file); }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(https, https_fixture)

BOOST_AUTO_TEST_CASE(a_certificate_the_system_store_trusts_is_delivered_to) {
  // SSL_CERT_FILE is OpenSSL's system trust store setting.
  server_process server{(dir.path() / "data").string(), {}, true, {{"SSL_CERT_FILE", ca_file}}};
  scripted_receiver rx{{}, ca.issue({"localhost"}, {})};
  auto event = deliver_one(server, rx.url("/hook", "localhost"));
  BOOST_TEST(event.at("delivery").at("status").as_string() == "delivered");
  BOOST_REQUIRE(rx.requests().size() == 1u);
  BOOST_TEST(rx.requests()[0].header("webhook-signature").starts_with("v1,"));
}

BOOST_AUTO_TEST_CASE(ca_file_adds_trust) {
  server_process server{(dir.path() / "data").string(), {"--ca-file", ca_file}};
  scripted_receiver rx{{}, ca.issue({"localhost"}, {})};
  BOOST_TEST(
      deliver_one(server, rx.url("/hook", "localhost")).at("delivery").at("status").as_string() ==
      "delivered");
}

BOOST_AUTO_TEST_CASE(an_untrusted_chain_is_a_failed_attempt) {
  server_process server{(dir.path() / "data").string(), {"--retry-schedule", "1h"}};
  scripted_receiver rx{{}, ca.issue({"localhost"}, {})};
  auto event = deliver_one(server, rx.url("/hook", "localhost"));
  BOOST_TEST(first_error(event).starts_with("tls: certificate verify failed ("),
             first_error(event));
  BOOST_TEST(event.at("delivery").at("status").as_string() == "pending"); // retried later
  BOOST_TEST(rx.requests().empty());
}

BOOST_AUTO_TEST_CASE(self_signed_wrong_host_and_expired_fail_with_their_reason) {
  server_process server{(dir.path() / "data").string(),
                        {"--ca-file", ca_file, "--retry-schedule", "1h"}};
  scripted_receiver self{{}, self_signed("localhost")};
  scripted_receiver other{{}, ca.issue({"other.example"}, {})};
  scripted_receiver expired{{}, ca.issue({"localhost"}, {}, -30, -1)};
  BOOST_TEST(first_error(deliver_one(server, self.url("/hook", "localhost"))) ==
             "tls: certificate verify failed (self-signed certificate)");
  BOOST_TEST(first_error(deliver_one(server, other.url("/hook", "localhost"))) ==
             "tls: certificate verify failed (hostname mismatch)");
  BOOST_TEST(first_error(deliver_one(server, expired.url("/hook", "localhost"))) ==
             "tls: certificate verify failed (certificate has expired)");
}

BOOST_AUTO_TEST_CASE(a_bad_ca_file_stops_the_server_with_a_clear_error) {
  std::ofstream{dir.path() / "junk.pem"} << "not a certificate";
  auto r = run_rundund({"--data-dir", (dir.path() / "data").string(), "--listen", "127.0.0.1:0",
                        "--ca-file", (dir.path() / "junk.pem").string()});
  BOOST_TEST(r.exit_code != 0);
  BOOST_TEST(r.err.find("CA file") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(literal_private_addresses_are_refused_at_dispatch) {
  temp_dir dir;
  server_process server{dir.str(), {}, true, {}, false};
  auto api = server.api();
  auto t = api.make_template(json::parse(R"({"name":"n","steps":[{"id":"a","title":"A"}]})"));
  for (std::string host :
       {"127.0.0.1", "127.1", "2130706433", "0x7f.1", "[::1]", "[::ffff:127.0.0.1]", "10.1.2.3",
        "169.254.169.254", "192.168.0.10", "[fe80::1]", "0.0.0.0"}) {
    auto r = api.post_json("/v1/runs",
                           json::parse(R"({"template_id":")" + t +
                                       R"(","webhook":{"url":"http://)" + host + R"(/hook"}})"));
    BOOST_TEST(r.status == 400, host);
    BOOST_TEST(r.error_code() == "destination_not_allowed", host);
    BOOST_TEST(r.body.find("webhook.url") != std::string::npos);
  }
  auto ok = api.post_json("/v1/runs",
                          json::parse(R"({"template_id":")" + t +
                                      R"(","webhook":{"url":"https://93.184.215.14/hook"}})"));
  BOOST_TEST(ok.status == 201);
}

BOOST_AUTO_TEST_CASE(a_name_that_resolves_to_loopback_fails_at_delivery) {
  temp_dir dir;
  server_process server{dir.str(), {"--retry-schedule", "1h"}, true, {}, false};
  scripted_receiver rx;
  auto event = deliver_one(server, rx.url("/hook", "localhost"));
  BOOST_TEST(first_error(event) == "destination_not_allowed");
  BOOST_TEST(rx.requests().empty());
}

BOOST_AUTO_TEST_CASE(the_flag_allows_private_destinations) {
  temp_dir dir;
  server_process server{dir.str()};
  scripted_receiver rx;
  BOOST_TEST(
      deliver_one(server, rx.url("/hook", "localhost")).at("delivery").at("status").as_string() ==
      "delivered");
}
