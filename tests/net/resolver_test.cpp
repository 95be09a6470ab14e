#include "net/resolver.hpp"

#include "tests/support/dns_server.hpp"
#include "tests/support/io_thread.hpp"

#define BOOST_TEST_MODULE resolver
#include <boost/test/unit_test.hpp>
#include <future>
#include <vector>

using namespace rundun;
using namespace rundun::net;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

/// A DNS server on loopback, and an io_context on its own thread for the resolver.
struct resolver_fixture : test::io_thread {
  test::dns_server dns;

  std::shared_ptr<resolver> make_resolver() {
    resolver_options opts;
    opts.servers = dns.address();
    auto r = resolver::make(io, opts);
    BOOST_REQUIRE(r.has_value());
    return *r;
  }
};

/// Starts a lookup; its outcome arrives in the future.
std::future<result<address_list>> start(resolver& r, const std::string& host,
                                        std::chrono::milliseconds within = 2s) {
  auto p = std::make_shared<std::promise<result<address_list>>>();
  auto f = p->get_future();
  r.resolve(host, steady::now() + within, [p](result<address_list> a) { p->set_value(a); });
  return f;
}

result<address_list> look_up(resolver& r, const std::string& host,
                             std::chrono::milliseconds within = 2s) {
  return start(r, host, within).get();
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(resolver_suite, resolver_fixture)

BOOST_AUTO_TEST_CASE(a_name_is_answered_by_the_configured_name_server) {
  dns.add("alpha.test", "127.0.0.1");
  auto r = make_resolver();
  auto a = look_up(*r, "Alpha.Test");
  BOOST_REQUIRE(a.has_value());
  BOOST_REQUIRE(a->size() == 1u);
  BOOST_TEST(a->front().to_string() == "127.0.0.1");
  BOOST_TEST(dns.a_queries("alpha.test") == 1u);
}

BOOST_AUTO_TEST_CASE(an_ip_literal_is_answered_at_once_without_dns) {
  dns.ignore("127.0.0.1");
  auto r = make_resolver();
  for (std::string host : {"127.0.0.1", "2130706433", "0x7f.1", "::1"}) {
    std::optional<result<address_list>> got;
    r->resolve(host, steady::now() + 1s, [&got](result<address_list> a) { got = a; });
    BOOST_REQUIRE_MESSAGE(got.has_value(), host << " was not answered before resolve returned");
    BOOST_REQUIRE(got->has_value());
    BOOST_TEST((*got)->front().is_loopback(), host);
  }
  BOOST_TEST(dns.a_queries("127.0.0.1") == 0u);
}

BOOST_AUTO_TEST_CASE(concurrent_lookups_of_one_name_send_one_query) {
  // TTL 0: nothing is cached, so only sharing the query in flight can save the second one.
  // The answer takes 300 ms, so the lookups surely overlap.
  dns.add("shared.test", "127.0.0.1", 0s, 300ms);
  auto r = make_resolver();
  std::vector<std::future<result<address_list>>> lookups;
  for (int i = 0; i < 10; ++i)
    lookups.push_back(start(*r, "shared.test"));
  for (auto& f : lookups) {
    auto a = f.get();
    BOOST_REQUIRE(a.has_value());
    BOOST_TEST(a->front().to_string() == "127.0.0.1");
  }
  BOOST_TEST(dns.a_queries("shared.test") == 1u);
  BOOST_TEST(r->lookups_in_flight() == 0u);
  BOOST_TEST(r->cached_names() == 0u);
}

BOOST_AUTO_TEST_CASE(an_answer_is_cached_for_its_ttl) {
  dns.add("cached.test", "127.0.0.1", 60s);
  auto r = make_resolver();
  BOOST_REQUIRE(look_up(*r, "cached.test").has_value());
  BOOST_REQUIRE(look_up(*r, "cached.test").has_value());
  BOOST_TEST(dns.a_queries("cached.test") == 1u);
  BOOST_TEST(r->cached_names() == 1u);
}

BOOST_AUTO_TEST_CASE(an_answer_with_ttl_zero_is_not_cached) {
  dns.add("fresh.test", "127.0.0.1", 0s);
  auto r = make_resolver();
  BOOST_REQUIRE(look_up(*r, "fresh.test").has_value());
  BOOST_REQUIRE(look_up(*r, "fresh.test").has_value());
  BOOST_TEST(dns.a_queries("fresh.test") == 2u);
}

BOOST_AUTO_TEST_CASE(an_unanswered_name_fails_at_its_deadline_and_holds_no_other_name) {
  dns.ignore("slow.test");
  dns.add("fast.test", "127.0.0.1");
  auto r = make_resolver();
  auto began = steady::now();
  auto slow = start(*r, "slow.test", 800ms);
  auto fast = look_up(*r, "fast.test");
  BOOST_TEST(fast.has_value());
  // The other name was answered while the unanswered one still waits.
  BOOST_TEST((slow.wait_for(0s) == std::future_status::timeout));
  auto failed = slow.get();
  auto took = steady::now() - began;
  BOOST_REQUIRE(failed.has_error());
  BOOST_TEST(failed.error() == make_error_code(errc::dns_timeout));
  BOOST_TEST((took >= 800ms));
  BOOST_TEST(dns.a_queries("slow.test") >= 1u);
}

BOOST_AUTO_TEST_CASE(an_unknown_name_is_not_found) {
  auto r = make_resolver();
  auto a = look_up(*r, "nosuch.test");
  BOOST_REQUIRE(a.has_error());
  BOOST_TEST(a.error() == make_error_code(errc::dns_not_found));
  BOOST_TEST(a.error().message() == "host not found");
}

BOOST_AUTO_TEST_CASE(a_malformed_server_list_is_refused) {
  for (std::string servers : {"not a server", ""}) {
    resolver_options opts;
    opts.servers = servers;
    auto r = resolver::make(io, opts);
    BOOST_REQUIRE(r.has_error());
    BOOST_TEST(r.error() == make_error_code(errc::dns_servers), servers);
  }
}

BOOST_AUTO_TEST_SUITE_END()
