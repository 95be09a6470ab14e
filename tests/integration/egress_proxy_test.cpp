// A real rundund delivering through `--egress-proxy` to a receiver on loopback (contract §1,
// §7): the tunnel, the proxy's credential kept out of the logs and metrics, a proxy that is
// down, and bad flag values.

#include "net/base64.hpp"
#include "net/signature.hpp"
#include "tests/support/connect_proxy.hpp"
#include "tests/support/prometheus_text.hpp"
#include "tests/support/scripted_receiver.hpp"
#include "tests/support/server_process.hpp"

#define BOOST_TEST_MODULE egress_proxy
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

using namespace rundun;
using namespace rundun::test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

constexpr auto webhook_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// The proxy's password in these tests: it must appear in no log line and no metric.
constexpr auto proxy_password = "secret";

/// A template with one step, and a run of it whose webhook is `url`; returns the run's id
/// and link path.
std::pair<std::string, std::string> dispatch(const api_client& api, const std::string& url) {
  auto tid = api.make_template(
      json::parse(R"({"name":"Proxy","steps":[{"id":"a","title":"A","required":false}]})"));
  auto run = api.make_run(json::parse(R"({"template_id":")" + tid + R"(","webhook":{"url":")" +
                                      url + R"(","secret":")" + webhook_secret + R"("}})"));
  return {std::string(run.at("id").as_string()),
          link_path(std::string(run.at("link").as_string()))};
}

json::array events(const api_client& api, const std::string& run) {
  return api.get("/v1/runs/" + run + "/events").json().at("events").as_array();
}

/// The delivery of the run's first event, once it has one.
std::optional<json::object> first_delivery(const api_client& api, const std::string& run) {
  auto ev = events(api, run);
  if (ev.empty())
    return std::nullopt;
  return ev.at(0).at("delivery").as_object();
}

} // namespace

BOOST_AUTO_TEST_CASE(a_delivery_goes_through_the_proxy_and_its_password_stays_out_of_sight) {
  auto basic = "Basic " + net::base64_encode(std::string("user:") + proxy_password);
  connect_proxy proxy{0, basic};
  scripted_receiver rx;
  temp_dir dir;
  server_process server{
      dir.str(),
      {"--log-level", "debug", "--egress-proxy", proxy.url(std::string("user:") + proxy_password)}};
  auto api = server.api();
  auto [run, link] = dispatch(api, rx.url());
  BOOST_TEST(http_call(server.port(), "POST", link + "/steps/a/answer", "{}").status == 200);
  BOOST_REQUIRE(rx.wait_for(1, 10s));
  BOOST_REQUIRE(eventually([&] {
    auto d = first_delivery(api, run);
    return d && d->at("status").as_string() == "delivered";
  }));

  // Through a tunnel to the checked address, with the credential, signed as always.
  BOOST_TEST(proxy.targets() == std::vector<std::string>{"127.0.0.1:" + std::to_string(rx.port())});
  BOOST_TEST(proxy.authorizations() == std::vector<std::string>{basic});
  auto got = rx.requests().at(0);
  net::webhook_signer signer{*net::parse_secret(webhook_secret)};
  BOOST_TEST(
      got.header("webhook-signature") ==
      signer.sign(got.header("webhook-id"), std::stoll(got.header("webhook-timestamp")), got.body));

  auto metrics = http_call(server.port(), "GET", "/metrics").body;
  BOOST_TEST(metrics.find(proxy_password) == std::string::npos);
  BOOST_TEST(server.terminate() == 0);
  auto log = server.stderr_text();
  // The proxy is named in the log, without its credential.
  BOOST_TEST(log.find("deliveries go through an egress proxy") != std::string::npos, log);
  BOOST_TEST(log.find(proxy.url()) != std::string::npos, log);
  BOOST_TEST(log.find(proxy_password) == std::string::npos, log);
  BOOST_TEST(log.find(net::base64_encode(std::string("user:") + proxy_password)) ==
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_proxy_that_is_down_fails_the_attempt_and_a_retry_goes_through_later) {
  std::uint16_t port = 0;
  {
    connect_proxy gone;
    port = gone.port();
  }
  scripted_receiver rx;
  temp_dir dir;
  server_process server{dir.str(),
                        {"--retry-schedule", "200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms",
                         "--egress-proxy", "http://127.0.0.1:" + std::to_string(port)}};
  auto api = server.api();
  auto [run, link] = dispatch(api, rx.url());
  BOOST_TEST(http_call(server.port(), "POST", link + "/steps/a/answer", "{}").status == 200);
  // The first attempt fails at the proxy, and the event waits for its retry.
  BOOST_REQUIRE(eventually([&] {
    auto d = first_delivery(api, run);
    return d && !d->at("attempts").as_array().empty();
  }));
  auto first = first_delivery(api, run)->at("attempts").at(0);
  BOOST_TEST(std::string(first.at("error").as_string()) == "proxy: connect: Connection refused");
  BOOST_TEST(rx.requests().empty());
  auto m = parse_prometheus_text(http_call(server.port(), "GET", "/metrics").body);
  BOOST_TEST(m.value("rundun_delivery_attempts_total", {{"outcome", "proxy"}}) >= 1);

  connect_proxy back{port};
  BOOST_REQUIRE(eventually([&] {
    auto d = first_delivery(api, run);
    return d && d->at("status").as_string() == "delivered";
  }));
  BOOST_TEST(rx.requests().size() == 1u);
  BOOST_TEST(back.targets().size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_bad_proxy_url_exits_2_naming_the_flag_without_its_password) {
  for (auto bad : {"https://user:secret@127.0.0.1:3128", "http://user:secret@127.0.0.1",
                   "socks5://user:secret@127.0.0.1:1080", "user:secret@127.0.0.1:3128"}) {
    auto r = run_rundund({"--egress-proxy", bad});
    BOOST_TEST(r.exit_code == 2, bad);
    BOOST_TEST(r.err.starts_with("rundund: --egress-proxy must "), r.err);
    BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1, r.err);
    BOOST_TEST(r.err.find("secret") == std::string::npos, r.err);
  }
  auto env = run_rundund({}, {{"RUNDUN_EGRESS_PROXY", "https://user:secret@127.0.0.1:3128"}});
  BOOST_TEST(env.exit_code == 2);
  BOOST_TEST(env.err.starts_with("rundund: RUNDUN_EGRESS_PROXY: --egress-proxy must "), env.err);
  BOOST_TEST(env.err.find("secret") == std::string::npos, env.err);
  auto help = run_rundund({"--help"});
  BOOST_TEST(help.out.find("--egress-proxy") != std::string::npos);
  BOOST_TEST(help.out.find("RUNDUN_EGRESS_PROXY") != std::string::npos);
}
