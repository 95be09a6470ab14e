#include "net/http_client.hpp"

#include "net/tls_context.hpp"
#include "tests/support/io_thread.hpp"
#include "tests/support/scripted_receiver.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/test_pki.hpp"

#define BOOST_TEST_MODULE tls_client
#include <boost/asio/executor_work_guard.hpp>
#include <boost/test/unit_test.hpp>
#include <future>
#include <thread>

using namespace rundun;
using namespace rundun::net;
using namespace std::chrono_literals;

namespace {

/// An io_context on its own thread, a test CA, and its certificate in a file.
struct tls_fixture : test::io_thread {
  test::temp_dir dir;
  test::test_ca ca;
  std::string ca_file = (dir.path() / "ca.pem").string();

  tls_fixture() { ca.write_cert(ca_file); }

  std::shared_ptr<endpoint_client> client(const std::string& u, bool trust_ca = true) {
    client_options opts;
    opts.timeout = 2s;
    opts.allow_private_destinations = true;
    opts.tls = *make_client_tls_context(trust_ca ? std::optional{ca_file} : std::nullopt);
    return endpoint_client::make(io, *parse_url(u), opts);
  }
};

attempt_response post(endpoint_client& c) {
  std::promise<attempt_response> p;
  auto f = p.get_future();
  c.post({std::make_shared<const std::string>("{}"), "evt-1", 1700000000, "v1,c2lnbmF0dXJl"},
         [&p](attempt_response r) { p.set_value(std::move(r)); });
  return f.get();
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(tls_client, tls_fixture)

BOOST_AUTO_TEST_CASE(a_certificate_from_a_trusted_ca_is_delivered_to) {
  test::scripted_receiver rx{{}, ca.issue({"localhost"}, {"127.0.0.1"})};
  auto r = post(*client(rx.url("/hook", "localhost")));
  BOOST_TEST(r.error == "");
  BOOST_TEST(*r.status == 200);
  BOOST_TEST(rx.requests().size() == 1u);
}

BOOST_AUTO_TEST_CASE(an_ip_address_is_checked_against_the_ip_san) {
  test::scripted_receiver rx{{}, ca.issue({}, {"127.0.0.1"})};
  BOOST_TEST(*post(*client(rx.url("/hook", "127.0.0.1"))).status == 200);
}

BOOST_AUTO_TEST_CASE(without_the_ca_the_chain_is_untrusted) {
  test::scripted_receiver rx{{}, ca.issue({"localhost"}, {})};
  auto r = post(*client(rx.url("/hook", "localhost"), false));
  BOOST_TEST((r.failure == failure_kind::tls));
  BOOST_TEST(r.error.starts_with("tls: certificate verify failed ("), r.error);
  BOOST_TEST(rx.requests().empty());
}

BOOST_AUTO_TEST_CASE(a_self_signed_certificate_fails_with_its_reason) {
  test::scripted_receiver rx{{}, test::self_signed("localhost")};
  auto r = post(*client(rx.url("/hook", "localhost")));
  BOOST_TEST((r.failure == failure_kind::tls));
  BOOST_TEST(r.error == "tls: certificate verify failed (self-signed certificate)");
}

BOOST_AUTO_TEST_CASE(a_certificate_for_another_host_fails) {
  test::scripted_receiver rx{{}, ca.issue({"other.example"}, {})};
  auto r = post(*client(rx.url("/hook", "localhost")));
  BOOST_TEST((r.failure == failure_kind::tls));
  BOOST_TEST(r.error == "tls: certificate verify failed (hostname mismatch)");
}

BOOST_AUTO_TEST_CASE(an_expired_certificate_fails) {
  test::scripted_receiver rx{{}, ca.issue({"localhost"}, {}, -10, -1)};
  auto r = post(*client(rx.url("/hook", "localhost")));
  BOOST_TEST((r.failure == failure_kind::tls));
  BOOST_TEST(r.error == "tls: certificate verify failed (certificate has expired)");
}

BOOST_AUTO_TEST_CASE(plain_http_to_a_tls_port_fails_cleanly) {
  test::scripted_receiver rx{{}, ca.issue({"localhost"}, {})};
  auto plain = "http://localhost:" + std::to_string(rx.port()) + "/hook";
  auto r = post(*client(plain));
  BOOST_TEST(!r.status);
}

BOOST_AUTO_TEST_CASE(connections_are_kept_alive_and_sessions_resumed) {
  std::atomic<int> n{0};
  test::scripted_receiver rx{[&](const test::received&, std::size_t) {
                               test::reply_plan p;
                               p.close = ++n == 3; // the third answer closes its connection
                               return p;
                             },
                             ca.issue({"localhost"}, {})};
  auto c = client(rx.url("/hook", "localhost"));
  for (int i = 0; i < 5; ++i)
    BOOST_TEST(*post(*c).status == 200);
  // One connection for requests 1-3, a second one for 4-5 that resumed the first's session.
  BOOST_TEST(rx.connections() == 2u);
  BOOST_TEST(rx.handshakes() == 2u);
  BOOST_TEST(rx.resumed_handshakes() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(a_missing_ca_file_is_an_error) {
  BOOST_TEST(!make_client_tls_context(std::string("/no/such/ca.pem")));
}
