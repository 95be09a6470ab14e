#include "net/url.hpp"

#define BOOST_TEST_MODULE url
#include <boost/test/unit_test.hpp>

using namespace rundun::net;

BOOST_AUTO_TEST_CASE(parses_and_normalises_an_endpoint) {
  auto u = parse_url("HTTPS://Your-App.COM:443/hooks/rundun?x=1");
  BOOST_REQUIRE(u);
  BOOST_TEST(u->scheme == "https");
  BOOST_TEST(u->host == "your-app.com");
  BOOST_TEST(u->port == 443);
  BOOST_TEST(u->target == "/hooks/rundun?x=1");
  BOOST_TEST(u->normalized() == "https://your-app.com/hooks/rundun?x=1");
}

BOOST_AUTO_TEST_CASE(keeps_a_non_default_port_and_defaults_the_path) {
  auto u = parse_url("http://127.0.0.1:9000");
  BOOST_REQUIRE(u);
  BOOST_TEST(u->target == "/");
  BOOST_TEST(u->normalized() == "http://127.0.0.1:9000/");
  BOOST_TEST(u->authority() == "127.0.0.1:9000");
}

BOOST_AUTO_TEST_CASE(handles_ipv6_literals) {
  auto u = parse_url("http://[::1]:8080/x");
  BOOST_REQUIRE(u);
  BOOST_TEST(u->host == "::1");
  BOOST_TEST(u->authority() == "[::1]:8080");
}

BOOST_AUTO_TEST_CASE(same_endpoint_same_key) {
  BOOST_TEST(endpoint_key(*parse_url("HTTP://Example.com:80/a")) ==
             endpoint_key(*parse_url("http://example.com/a")));
  BOOST_TEST(endpoint_key(*parse_url("http://example.com/a")) !=
             endpoint_key(*parse_url("http://example.com/b")));
  BOOST_TEST(endpoint_key(*parse_url("http://example.com/a")).size() == 32u);
}

BOOST_AUTO_TEST_CASE(refuses_what_is_not_a_webhook_url) {
  BOOST_TEST(parse_url("example.com/x").error() == make_error_code(errc::url_malformed));
  BOOST_TEST(parse_url("ftp://example.com/").error() == make_error_code(errc::url_scheme));
  BOOST_TEST(parse_url("http:///x").error() == make_error_code(errc::url_host));
  BOOST_TEST(parse_url("http://exa mple.com/").error() == make_error_code(errc::url_malformed));
  BOOST_TEST(parse_url("http://example.com:0/").error() == make_error_code(errc::url_port));
  BOOST_TEST(parse_url("http://example.com:70000/").error() == make_error_code(errc::url_port));
  BOOST_TEST(parse_url("http://example.com:/").error() == make_error_code(errc::url_port));
  BOOST_TEST(parse_url("http://u:p@example.com/").error() == make_error_code(errc::url_userinfo));
  BOOST_TEST(parse_url("http://example.com/#f").error() == make_error_code(errc::url_fragment));
}
