#include "net/egress_proxy.hpp"

#include "net/base64.hpp"
#include "net/envelope.hpp"

#define BOOST_TEST_MODULE egress_proxy
#include <boost/test/unit_test.hpp>

using namespace rundun::net;

namespace {

/// The error of parsing `text`, or no error code when it parses.
boost::system::error_code error_of(std::string_view text) {
  auto p = parse_egress_proxy(text);
  return p ? boost::system::error_code{} : p.error();
}

} // namespace

BOOST_AUTO_TEST_SUITE(egress_proxy_url)

BOOST_AUTO_TEST_CASE(host_port_and_credentials_are_read) {
  auto p = parse_egress_proxy("http://user:secret@Proxy.Example:3128");
  BOOST_REQUIRE(p);
  BOOST_TEST(p->host == "proxy.example");
  BOOST_TEST(p->port == 3128);
  BOOST_TEST(p->authorization == "Basic dXNlcjpzZWNyZXQ=");
  BOOST_TEST(p->redacted() == "http://proxy.example:3128");
}

BOOST_AUTO_TEST_CASE(without_credentials_there_is_no_authorization) {
  auto p = parse_egress_proxy("HTTP://127.0.0.1:8080/");
  BOOST_REQUIRE(p);
  BOOST_TEST(p->host == "127.0.0.1");
  BOOST_TEST(p->port == 8080);
  BOOST_TEST(p->authorization.empty());
  BOOST_TEST(p->redacted() == "http://127.0.0.1:8080");
}

BOOST_AUTO_TEST_CASE(credentials_are_percent_decoded) {
  auto p = parse_egress_proxy("http://us%40er:p%3Ass%40w%25rd@proxy.internal:3128");
  BOOST_REQUIRE(p);
  BOOST_TEST(p->authorization == "Basic " + base64_encode("us@er:p:ss@w%rd"));
  // A user without a password sends an empty one, as curl does.
  BOOST_TEST(parse_egress_proxy("http://user@h:1")->authorization ==
             "Basic " + base64_encode("user:"));
}

BOOST_AUTO_TEST_CASE(an_ipv6_proxy_is_kept_without_brackets_and_shown_with_them) {
  auto p = parse_egress_proxy("http://[::1]:3128");
  BOOST_REQUIRE(p);
  BOOST_TEST(p->host == "::1");
  BOOST_TEST(p->redacted() == "http://[::1]:3128");
}

BOOST_AUTO_TEST_CASE(what_is_not_an_http_proxy_url_is_refused_with_its_reason) {
  BOOST_TEST((error_of("") == errc::proxy_malformed), "");
  BOOST_TEST((error_of("proxy.example:3128") == errc::proxy_malformed), "proxy.example:3128");
  BOOST_TEST((error_of("http://proxy example:3128") == errc::proxy_malformed),
             "http://proxy example:3128");
  BOOST_TEST((error_of("https://proxy.example:3128") == errc::proxy_scheme),
             "https://proxy.example:3128");
  BOOST_TEST((error_of("socks5://proxy.example:1080") == errc::proxy_scheme),
             "socks5://proxy.example:1080");
  BOOST_TEST((error_of("http://:3128") == errc::proxy_host), "http://:3128");
  BOOST_TEST((error_of("http://proxy.example") == errc::proxy_port), "http://proxy.example");
  BOOST_TEST((error_of("http://proxy.example:") == errc::proxy_port), "http://proxy.example:");
  BOOST_TEST((error_of("http://proxy.example:0") == errc::proxy_port), "http://proxy.example:0");
  BOOST_TEST((error_of("http://proxy.example:65536") == errc::proxy_port),
             "http://proxy.example:65536");
  BOOST_TEST((error_of("http://proxy.example:3128/path") == errc::proxy_path),
             "http://proxy.example:3128/path");
  BOOST_TEST((error_of("http://proxy.example:3128?x=1") == errc::proxy_path),
             "http://proxy.example:3128?x=1");
  BOOST_TEST((error_of("http://proxy.example:3128#f") == errc::proxy_path),
             "http://proxy.example:3128#f");
  BOOST_TEST((error_of("http://us%3Aer:pw@proxy.example:3128") == errc::proxy_credentials),
             "http://us%3Aer:pw@proxy.example:3128");
  BOOST_TEST((error_of("http://user:p%0Aw@proxy.example:3128") == errc::proxy_credentials),
             "http://user:p%0Aw@proxy.example:3128");
}

BOOST_AUTO_TEST_CASE(no_error_message_quotes_the_url_or_its_password) {
  for (auto bad : {"https://user:secret@proxy.example:3128", "http://user:secret@proxy.example",
                   "http://user:secret@proxy.example:3128/x", "http://user:secret@:3128",
                   "http://us%3Aer:secret@proxy.example:3128"}) {
    auto message = error_of(bad).message();
    BOOST_TEST(!message.empty(), bad);
    BOOST_TEST(message.find("secret") == std::string::npos, bad);
    BOOST_TEST(message.find("proxy.example") == std::string::npos, bad);
  }
}

BOOST_AUTO_TEST_CASE(connect_names_the_checked_address_and_carries_the_credential) {
  auto p = *parse_egress_proxy("http://user:secret@proxy.example:3128");
  auto v4 = connect_request(p, boost::asio::ip::make_address("203.0.113.7"), 8443);
  BOOST_TEST(v4 == "CONNECT 203.0.113.7:8443 HTTP/1.1\r\nHost: 203.0.113.7:8443\r\n"
                   "Proxy-Authorization: Basic dXNlcjpzZWNyZXQ=\r\nuser-agent: " +
                       user_agent() + "\r\n\r\n");
  auto bare = *parse_egress_proxy("http://proxy.example:3128");
  auto v6 = connect_request(bare, boost::asio::ip::make_address("2001:db8::1"), 443);
  BOOST_TEST(v6.starts_with("CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n"));
  BOOST_TEST(v6.find("Proxy-Authorization") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
