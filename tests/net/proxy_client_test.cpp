// The HTTP client through an egress proxy: a real CONNECT proxy, receivers and a DNS server,
// all on loopback.

#include "net/http_client.hpp"

#include "net/base64.hpp"
#include "net/tls_context.hpp"
#include "tests/support/connect_proxy.hpp"
#include "tests/support/dns_server.hpp"
#include "tests/support/io_thread.hpp"
#include "tests/support/scripted_receiver.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/test_pki.hpp"

#define BOOST_TEST_MODULE proxy_client
#include <boost/test/unit_test.hpp>
#include <future>

using namespace rundun;
using namespace rundun::net;
using namespace std::chrono_literals;

namespace {

/// An io_context on its own thread, a proxy, a DNS server that knows `hook.test` as
/// 127.0.0.1, a resolver that asks it, and a test CA in a file.
struct proxy_fixture : test::io_thread {
  test::connect_proxy proxy;
  test::dns_server dns;
  std::shared_ptr<resolver> names;
  test::temp_dir dir;
  test::test_ca ca;
  std::string ca_file = (dir.path() / "ca.pem").string();

  proxy_fixture() {
    dns.add("hook.test", "127.0.0.1");
    names = *resolver::make(io, resolver_options{.servers = dns.address()});
    ca.write_cert(ca_file);
  }

  /// A client for `u` through the proxy at `proxy_url` (the fixture's proxy by default).
  /// The receivers are on loopback, so private destinations are allowed unless `guarded`.
  std::shared_ptr<endpoint_client> client(const std::string& u, std::string proxy_url = "",
                                          std::chrono::milliseconds timeout = 2s,
                                          bool guarded = false) {
    client_options opts;
    opts.timeout = timeout;
    opts.max_idle = 4;
    opts.allow_private_destinations = !guarded;
    opts.resolver = names;
    opts.tls = *make_client_tls_context(ca_file);
    auto parsed = parse_egress_proxy(proxy_url.empty() ? proxy.url() : proxy_url);
    opts.proxy = std::make_shared<const egress_proxy>(std::move(*parsed));
    return endpoint_client::make(io, *parse_url(u), opts);
  }
};

outgoing_request request() {
  return {std::make_shared<const std::string>(R"({"event":"step.completed"})"), "evt-1", 1700000000,
          "v1,c2lnbmF0dXJl"};
}

attempt_response post(endpoint_client& c) {
  std::promise<attempt_response> p;
  auto f = p.get_future();
  c.post(request(), [&p](attempt_response r) { p.set_value(std::move(r)); });
  return f.get();
}

std::string loopback(std::uint16_t port) {
  return "127.0.0.1:" + std::to_string(port);
}

test::reply_plan hang() {
  test::reply_plan p;
  p.hang = true;
  return p;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(proxy_client, proxy_fixture)

BOOST_AUTO_TEST_CASE(an_http_endpoint_is_reached_through_a_tunnel_to_the_checked_address) {
  test::scripted_receiver rx;
  auto r = post(*client(rx.url("/hook", "hook.test")));
  BOOST_TEST(r.error == "");
  BOOST_TEST(r.status.value_or(0) == 200);
  // The proxy was asked for the address the guard checked, never for the name.
  BOOST_TEST(proxy.targets() == std::vector<std::string>{loopback(rx.port())});
  auto got = rx.requests();
  BOOST_REQUIRE(got.size() == 1u);
  BOOST_TEST(got[0].target == "/hook");
  BOOST_TEST(got[0].header("host") == "hook.test:" + std::to_string(rx.port()));
  BOOST_TEST(got[0].header("webhook-id") == "evt-1");
  BOOST_TEST(got[0].header("webhook-signature") == "v1,c2lnbmF0dXJl");
  BOOST_TEST(got[0].body == R"({"event":"step.completed"})");
  BOOST_TEST(got[0].header("proxy-authorization") == ""); // for the proxy only
}

BOOST_AUTO_TEST_CASE(https_through_the_tunnel_is_verified_by_the_host_name) {
  test::scripted_receiver rx{{}, ca.issue({"hook.test"}, {})};
  auto r = post(*client(rx.url("/hook", "hook.test")));
  BOOST_TEST(r.error == "");
  BOOST_TEST(r.status.value_or(0) == 200);
  BOOST_TEST(rx.handshakes() == 1u);
  BOOST_TEST(proxy.targets() == std::vector<std::string>{loopback(rx.port())});
}

BOOST_AUTO_TEST_CASE(a_certificate_for_another_name_fails_through_the_tunnel) {
  test::scripted_receiver rx{{}, ca.issue({"other.test"}, {"127.0.0.1"})};
  auto r = post(*client(rx.url("/hook", "hook.test")));
  BOOST_TEST((r.failure == failure_kind::tls));
  BOOST_TEST(r.error == "tls: certificate verify failed (hostname mismatch)");
  BOOST_TEST(proxy.targets().size() == 1u); // the tunnel was open: the name check refused
  BOOST_TEST(rx.requests().empty());
}

BOOST_AUTO_TEST_CASE(an_ipv6_address_is_asked_for_in_brackets) {
  test::scripted_receiver rx{{}, {}, "::1"};
  auto r = post(*client(rx.url("/hook", "[::1]")));
  BOOST_TEST(r.error == "");
  BOOST_TEST(r.status.value_or(0) == 200);
  BOOST_TEST(proxy.targets() == std::vector<std::string>{"[::1]:" + std::to_string(rx.port())});
}

BOOST_AUTO_TEST_CASE(keep_alive_through_the_proxy_uses_one_connect) {
  test::scripted_receiver rx{{}, ca.issue({"hook.test"}, {})};
  auto c = client(rx.url("/hook", "hook.test"));
  for (int i = 0; i < 5; ++i)
    BOOST_TEST(post(*c).status.value_or(0) == 200);
  BOOST_TEST(rx.requests().size() == 5u);
  BOOST_TEST(proxy.targets().size() == 1u);
  BOOST_TEST(proxy.connections() == 1u);
  BOOST_TEST(rx.connections() == 1u);
  BOOST_TEST(c->open_connections() == 1u);
}

BOOST_AUTO_TEST_CASE(a_tunnel_closed_by_the_receiver_is_replaced_by_a_fresh_one) {
  // The receiver answers keep-alive, then closes: the next POST finds the tunnel dead and
  // goes out on a new one, without a failed attempt.
  test::scripted_receiver rx{[](const test::received&, std::size_t) {
    test::reply_plan p;
    p.drop = true;
    return p;
  }};
  auto c = client(rx.url("/hook", "hook.test"));
  BOOST_TEST(post(*c).status.value_or(0) == 200);
  // The proxy closes its side once the receiver has: wait for that, not for a while.
  BOOST_TEST(test::eventually([&] { return proxy.open_tunnels() == 0u; }, 5s));
  BOOST_TEST(post(*c).status.value_or(0) == 200);
  BOOST_TEST(rx.requests().size() == 2u);
  BOOST_TEST(proxy.targets().size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_refused_connect_is_a_failed_attempt_at_the_proxy) {
  test::scripted_receiver rx;
  proxy.set_mode(test::proxy_mode::refuse, 403);
  auto c = client(rx.url("/hook", "hook.test"));
  auto r = post(*c);
  BOOST_TEST(!r.status);
  BOOST_TEST((r.failure == failure_kind::proxy));
  BOOST_TEST(r.error == "proxy: CONNECT refused with 403");
  BOOST_TEST(rx.requests().empty());
  BOOST_TEST(c->open_connections() == 0u); // a refused connection is not kept
}

BOOST_AUTO_TEST_CASE(a_proxy_that_is_down_fails_the_attempt_and_delivers_once_back_up) {
  test::scripted_receiver rx;
  std::uint16_t port = 0;
  {
    test::connect_proxy gone;
    port = gone.port();
  }
  auto url = "http://127.0.0.1:" + std::to_string(port);
  auto c = client(rx.url("/hook", "hook.test"), url);
  auto down = post(*c);
  BOOST_TEST((down.failure == failure_kind::proxy));
  BOOST_TEST(down.error == "proxy: connect: Connection refused");
  test::connect_proxy back{port};
  auto up = post(*c);
  BOOST_TEST(up.error == "");
  BOOST_TEST(up.status.value_or(0) == 200);
  BOOST_TEST(back.targets() == std::vector<std::string>{loopback(rx.port())});
}

BOOST_AUTO_TEST_CASE(a_proxy_that_does_not_answer_fails_at_the_attempts_timeout) {
  test::scripted_receiver rx;
  proxy.set_mode(test::proxy_mode::hang);
  auto r = post(*client(rx.url("/hook", "hook.test"), "", 500ms));
  BOOST_TEST((r.failure == failure_kind::proxy));
  BOOST_TEST(r.error == "proxy: timeout");
  BOOST_TEST((r.duration >= 450ms));
  BOOST_TEST((r.duration < 1500ms));
}

BOOST_AUTO_TEST_CASE(a_receiver_that_hangs_in_the_tunnel_fails_at_the_same_timeout) {
  // One timeout bounds the whole attempt: proxy, CONNECT, request and response.
  test::scripted_receiver rx{[](const test::received&, std::size_t) { return hang(); }};
  auto r = post(*client(rx.url("/hook", "hook.test"), "", 500ms));
  BOOST_TEST((r.failure == failure_kind::timeout));
  BOOST_TEST(r.error == "timeout");
  BOOST_TEST((r.duration >= 450ms));
  BOOST_TEST((r.duration < 1500ms));
}

BOOST_AUTO_TEST_CASE(a_proxy_that_answers_garbage_breaks_the_protocol) {
  test::scripted_receiver rx;
  proxy.set_mode(test::proxy_mode::garbage);
  auto r = post(*client(rx.url("/hook", "hook.test")));
  BOOST_TEST((r.failure == failure_kind::proxy));
  BOOST_TEST(r.error.starts_with("proxy: bad answer to CONNECT: "), r.error);
}

BOOST_AUTO_TEST_CASE(a_private_destination_is_refused_before_the_proxy_hears_of_it) {
  test::scripted_receiver rx;
  for (std::string host : {"hook.test", "127.0.0.1"}) {
    auto r = post(*client(rx.url("/hook", host), "", 2s, true));
    BOOST_TEST((r.failure == failure_kind::destination_not_allowed), host);
    BOOST_TEST(r.error == "destination_not_allowed");
  }
  BOOST_TEST(proxy.connections() == 0u);
  BOOST_TEST(proxy.targets().empty());
  BOOST_TEST(rx.requests().empty());
}

BOOST_AUTO_TEST_CASE(the_proxy_gets_the_basic_credential_of_its_url) {
  auto basic = "Basic " + base64_encode("us@er:p@ss");
  test::connect_proxy guarded{0, basic};
  test::scripted_receiver rx;
  auto with = client(rx.url("/hook", "hook.test"), guarded.url("us%40er:p%40ss"));
  BOOST_TEST(post(*with).status.value_or(0) == 200);
  auto without = client(rx.url("/hook", "hook.test"), guarded.url());
  auto refused = post(*without);
  BOOST_TEST((refused.failure == failure_kind::proxy));
  BOOST_TEST(refused.error == "proxy: CONNECT refused with 407");
  BOOST_TEST(guarded.authorizations() == (std::vector<std::string>{basic, ""}));
  BOOST_TEST(rx.requests().size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
