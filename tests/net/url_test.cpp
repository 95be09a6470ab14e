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

BOOST_AUTO_TEST_CASE(keeps_the_path_and_query_as_written_so_endpoint_keys_stay) {
  // Endpoint keys are hashes of the normalised URL, kept in the store: only the scheme and
  // host are lowercased and a default port dropped, whoever parses.
  auto u = parse_url("HTTP://Shop.Example:80/Hooks/A%2Fb?Token=X&y=%41");
  BOOST_REQUIRE(u);
  BOOST_TEST(u->normalized() == "http://shop.example/Hooks/A%2Fb?Token=X&y=%41");
  BOOST_TEST(parse_url("https://h.example?x=1")->target == "/?x=1");
  BOOST_TEST(parse_url("https://h.example?")->target == "/?");
}

BOOST_AUTO_TEST_CASE(odd_ipv4_spellings_parse_as_names_for_the_guard_to_read) {
  // RFC 3986 calls these names; net/destination_guard reads them as 127.0.0.1.
  for (auto host : {"127.1", "0x7f.1", "2130706433", "0177.0.0.1"}) {
    auto u = parse_url(std::string("http://") + host + "/x");
    BOOST_REQUIRE(u);
    BOOST_TEST(u->host == host);
  }
}

BOOST_AUTO_TEST_CASE(characters_rfc_3986_leaves_out_of_a_path_or_query_are_sent_encoded) {
  // Earlier versions took these as written, and stored runs have them: they keep working.
  BOOST_TEST(parse_url("http://h.example/a|b?q={1}")->target == "/a%7Cb?q=%7B1%7D");
  BOOST_TEST(parse_url("http://h.example/a%zz%4")->target == "/a%25zz%254");
  BOOST_TEST(parse_url("http://h.example/%41?x=\"[1]\"")->target == "/%41?x=%22%5B1%5D%22");
  // The 2 KiB bound holds after the encoding: 700 `|` are 2,100 characters once encoded.
  BOOST_TEST(parse_url("http://h.example/" + std::string(700, '|')).error() ==
             make_error_code(errc::url_malformed));
  // Encoded once: the normalised form parses back to itself.
  auto u = parse_url("https://h.example/{x}");
  BOOST_TEST(parse_url(u->normalized())->normalized() == u->normalized());
}

BOOST_AUTO_TEST_CASE(refuses_what_rfc_3986_or_a_dns_name_does_not_allow) {
  BOOST_TEST(parse_url("http://h%zz.example/").error() == make_error_code(errc::url_malformed));
  BOOST_TEST(parse_url("http:/h.example/").error() == make_error_code(errc::url_malformed));
  BOOST_TEST(parse_url("http://a!b.example/").error() == make_error_code(errc::url_host));
  BOOST_TEST(parse_url("http://[v1.x]/").error() == make_error_code(errc::url_host));
  BOOST_TEST(parse_url("http://[::1/").error() == make_error_code(errc::url_malformed));
  BOOST_TEST(parse_url("http://@h.example/").error() == make_error_code(errc::url_userinfo));
  BOOST_TEST(parse_url("http://h.example:8x/").error() == make_error_code(errc::url_port));
}
