#include "net/destination_guard.hpp"

#define BOOST_TEST_MODULE destination_guard
#include <boost/test/unit_test.hpp>

using namespace rundun::net;

namespace {

bool refused(const std::string& host) {
  auto ip = parse_ip_literal(host);
  BOOST_REQUIRE_MESSAGE(ip, host << " should read as an address");
  return !is_public(*ip);
}

} // namespace

BOOST_AUTO_TEST_CASE(every_spelling_of_loopback_is_an_address) {
  for (auto host :
       {"127.0.0.1", "127.1", "2130706433", "0x7f.1", "0x7f000001", "0177.0.0.1", "0177.1",
        "127.0.1", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1", "::ffff:7f00:1", "::127.0.0.1"})
    BOOST_TEST(refused(host), host);
  BOOST_TEST(parse_ip_literal("127.1")->to_string() == "127.0.0.1");
  BOOST_TEST(parse_ip_literal("0x7f.1")->to_string() == "127.0.0.1");
  BOOST_TEST(parse_ip_literal("2130706433")->to_string() == "127.0.0.1");
}

BOOST_AUTO_TEST_CASE(the_contracts_ranges_are_refused) {
  for (auto host : {"0.0.0.0",
                    "0.1.2.3",
                    "10.0.0.1",
                    "10.255.255.255",
                    "100.64.0.1",
                    "100.127.255.255",
                    "169.254.169.254",
                    "172.16.0.1",
                    "172.31.255.255",
                    "192.0.0.1",
                    "192.0.0.255",
                    "192.168.1.1",
                    "198.18.0.1",
                    "198.19.255.255",
                    "224.0.0.1",
                    "239.255.255.255",
                    "240.0.0.1",
                    "255.255.255.255",
                    "::",
                    "fc00::1",
                    "fd12:3456::1",
                    "fe80::1",
                    "febf::1",
                    "ff02::1",
                    "::ffff:10.0.0.1",
                    "::ffff:169.254.169.254",
                    "::ffff:192.168.0.1",
                    "::10.0.0.1"})
    BOOST_TEST(refused(host), host);
}

BOOST_AUTO_TEST_CASE(public_addresses_pass) {
  for (auto host : {"8.8.8.8", "1.1.1.1", "100.63.255.255", "100.128.0.0", "172.15.255.255",
                    "172.32.0.0", "192.0.1.1", "192.167.255.255", "198.17.255.255", "198.20.0.0",
                    "223.255.255.255", "2001:4860:4860::8888", "::ffff:8.8.8.8", "fec0::1"}) {
    auto ip = parse_ip_literal(host);
    BOOST_REQUIRE(ip);
    BOOST_TEST(is_public(*ip), host);
  }
}

BOOST_AUTO_TEST_CASE(nat64_6to4_and_teredo_are_judged_by_the_ipv4_address_they_carry) {
  for (auto host : {"64:ff9b::7f00:1",                 // NAT64 of 127.0.0.1
                    "64:ff9b::10.0.0.1",               // NAT64 of 10.0.0.1
                    "64:ff9b::a9fe:a9fe",              // NAT64 of the metadata address
                    "64:ff9b:1:c0a8:1:108:808:808",    // local NAT64 /48 of 192.168.1.1 only
                    "64:ff9b:1:808:8:c0a8:101:808",    // local NAT64 /80 of 192.168.1.1 only
                    "64:ff9b:1::c0a8:101",             // local NAT64 /96 of 192.168.1.1
                    "2002:7f00:1::1",                  // 6to4 of 127.0.0.1
                    "2002:a9fe:a9fe::",                // 6to4 of 169.254.169.254
                    "2001:0:a00:1::1",                 // Teredo, server 10.0.0.1
                    "2001:0:4136:e378:0:0:80ff:fffe"}) // Teredo, client 127.0.0.1 (inverted)
    BOOST_TEST(refused(host), host);
  for (auto host : {"64:ff9b::808:808",            // NAT64 of 8.8.8.8
                    "64:ff9b:1:808:8:800:808:808", // local NAT64 of 8.8.8.8, every length
                    "2002:808:808::1",             // 6to4 of 8.8.8.8
                    "2001:0:4136:e378:8000:63bf:f7f7:f7f7"}) { // Teredo, 65.54.227.120 / 8.8.8.8
    auto ip = parse_ip_literal(host);
    BOOST_REQUIRE(ip);
    BOOST_TEST(is_public(*ip), host);
  }
}

BOOST_AUTO_TEST_CASE(host_names_are_not_addresses) {
  for (auto host :
       {"example.com", "localhost", "1.2.3.4.example", "0x7g.1", "", "1.2.3.4.5", "256.1.1.1.1"})
    BOOST_TEST(!parse_ip_literal(host), host);
}
