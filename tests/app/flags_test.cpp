#include "app/flags.hpp"

#define BOOST_TEST_MODULE flags
#include <boost/test/unit_test.hpp>
#include <cstdlib>

using namespace rundun::app;

namespace {

std::variant<flags, help_requested, flag_error> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "rundund");
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  return parse_flags(static_cast<int>(argv.size()), argv.data());
}

std::string error_of(std::vector<std::string> args) {
  auto r = parse(std::move(args));
  auto* e = std::get_if<flag_error>(&r);
  return e ? e->message : "";
}

} // namespace

BOOST_AUTO_TEST_CASE(defaults_match_the_contract) {
  auto f = std::get<flags>(parse({}));
  BOOST_TEST(f.host == "127.0.0.1");
  BOOST_TEST(f.port == 8080);
  BOOST_TEST(f.data_dir == "./rundun-data");
  BOOST_TEST(f.retry.delays.size() == 5u);
  BOOST_TEST(f.delivery_timeout.count() == 10'000);
  BOOST_TEST(f.endpoint_concurrency == 16u);
  BOOST_TEST(!f.allow_private_destinations);
  BOOST_TEST(f.map_size == std::size_t{64} << 30);
  BOOST_TEST(f.http_threads >= 1u);
  BOOST_TEST(f.http_threads <= flags::max_default_http_threads);
  BOOST_TEST(f.retention_days == 30.0);
  BOOST_TEST(!f.egress_proxy);
}

BOOST_AUTO_TEST_CASE(http_threads_and_retention_are_checked) {
  BOOST_TEST(std::get<flags>(parse({"--http-threads", "4"})).http_threads == 4u);
  BOOST_TEST(std::get<flags>(parse({"--retention-days", "0"})).retention_days == 0.0);
  BOOST_TEST(std::get<flags>(parse({"--retention-days=0.5"})).retention_days == 0.5);
  BOOST_TEST(error_of({"--http-threads", "0"}) == "--http-threads must be 1 to 256, got '0'");
  BOOST_TEST(error_of({"--http-threads", "many"}).starts_with("--http-threads must be"));
  BOOST_TEST(error_of({"--retention-days", "-1"}).starts_with("--retention-days must be"));
  BOOST_TEST(error_of({"--retention-days", "nan"}).starts_with("--retention-days must be"));
  BOOST_TEST(error_of({"--retention-days", "7d"}).find("got '7d'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(idle_timeouts_take_durations) {
  auto f =
      std::get<flags>(parse({"--endpoint-idle-timeout", "2s", "--connection-idle-timeout=500ms"}));
  BOOST_TEST(f.endpoint_idle_timeout.count() == 2000);
  BOOST_TEST(f.connection_idle_timeout.count() == 500);
  BOOST_TEST(std::get<flags>(parse({})).endpoint_idle_timeout.count() == 300'000);
  BOOST_TEST(error_of({"--endpoint-idle-timeout", "0s"}) ==
             "--endpoint-idle-timeout must be a positive duration like 30s, 5m or 500ms, got '0s'");
}

BOOST_AUTO_TEST_CASE(flags_take_values_both_ways) {
  auto f = std::get<flags>(
      parse({"--listen", "0.0.0.0:0", "--retry-schedule=1s,2s", "--delivery-timeout", "500ms",
             "--allow-private-destinations", "--endpoint-concurrency=4", "--log-level", "debug"}));
  BOOST_TEST(f.host == "0.0.0.0");
  BOOST_TEST(f.port == 0);
  BOOST_TEST(f.retry.delays.size() == 2u);
  BOOST_TEST(f.delivery_timeout.count() == 500);
  BOOST_TEST(f.allow_private_destinations);
  BOOST_TEST(f.endpoint_concurrency == 4u);
  BOOST_TEST(std::get<flags>(parse({"--map-size", "512M"})).map_size == std::size_t{512} << 20);
  BOOST_TEST(std::get<flags>(parse({"--map-size=2T"})).map_size == std::size_t{2} << 40);
}

BOOST_AUTO_TEST_CASE(environment_is_read_and_flags_win) {
  ::setenv("RUNDUN_LISTEN", "127.0.0.1:9999", 1);
  ::setenv("RUNDUN_ALLOW_PRIVATE_DESTINATIONS", "1", 1);
  auto f = std::get<flags>(parse({}));
  BOOST_TEST(f.port == 9999);
  BOOST_TEST(f.allow_private_destinations);
  f = std::get<flags>(parse({"--listen", "127.0.0.1:7"}));
  BOOST_TEST(f.port == 7);
  ::unsetenv("RUNDUN_LISTEN");
  ::unsetenv("RUNDUN_ALLOW_PRIVATE_DESTINATIONS");
}

BOOST_AUTO_TEST_CASE(bad_flags_say_what_is_wrong) {
  BOOST_TEST(error_of({"--nope"}) == "unknown flag '--nope' (see --help)");
  BOOST_TEST(error_of({"--listen"}) == "--listen needs a value");
  BOOST_TEST(error_of({"--listen", "8080"}).starts_with("--listen must be HOST:PORT"));
  BOOST_TEST(error_of({"--listen", "h:99999"}).starts_with("--listen port must be 0 to 65535"));
  BOOST_TEST(error_of({"--retry-schedule", "1s,x"}).starts_with("--retry-schedule must be"));
  BOOST_TEST(error_of({"--delivery-timeout", "0s"}).starts_with("--delivery-timeout must be"));
  BOOST_TEST(
      error_of({"--endpoint-concurrency", "0"}).starts_with("--endpoint-concurrency must be 1"));
  BOOST_TEST(error_of({"--log-level", "loud"}).starts_with("--log-level must be"));
  BOOST_TEST(error_of({"--api-key", "short"}).starts_with("--api-key must be at least 16"));
  BOOST_TEST(error_of({"--ca-file", "/no/such/file"}).starts_with("--ca-file must name"));
  BOOST_TEST(error_of({"--map-size", "1M"}).starts_with("--map-size must be a size of at least"));
  BOOST_TEST(error_of({"--map-size", "64GB"}).starts_with("--map-size must be"));
  BOOST_TEST(error_of({"--map-size", "99999999999T"}).starts_with("--map-size must be"));
  BOOST_TEST(error_of({"--allow-private-destinations=yes"}) ==
             "--allow-private-destinations takes no value");
}

BOOST_AUTO_TEST_CASE(egress_proxy_takes_an_http_proxy_url_from_the_flag_or_the_environment) {
  auto f = std::get<flags>(parse({"--egress-proxy", "http://user:secret@proxy.internal:3128"}));
  BOOST_TEST(*f.egress_proxy == "http://user:secret@proxy.internal:3128");
  ::setenv("RUNDUN_EGRESS_PROXY", "http://10.0.0.5:8080", 1);
  BOOST_TEST(*std::get<flags>(parse({})).egress_proxy == "http://10.0.0.5:8080");
  BOOST_TEST(*std::get<flags>(parse({"--egress-proxy=http://[::1]:3128"})).egress_proxy ==
             "http://[::1]:3128");
  ::setenv("RUNDUN_EGRESS_PROXY", "https://user:secret@proxy.internal:3128", 1);
  auto env = error_of({});
  BOOST_TEST(env.starts_with("RUNDUN_EGRESS_PROXY: --egress-proxy must use the http scheme"), env);
  ::unsetenv("RUNDUN_EGRESS_PROXY");
}

BOOST_AUTO_TEST_CASE(a_bad_egress_proxy_is_named_and_its_password_never_echoed) {
  for (auto bad : {"https://user:secret@proxy.internal:3128", "http://user:secret@proxy.internal",
                   "http://user:secret@:3128", "http://user:secret@proxy.internal:3128/path",
                   "proxy.internal:3128", ""}) {
    auto e = error_of({"--egress-proxy", bad});
    BOOST_TEST(e.starts_with("--egress-proxy must "), bad << ": " << e);
    BOOST_TEST(e.find("secret") == std::string::npos, e);
  }
  BOOST_TEST(error_of({"--egress-proxy", "http://proxy.internal"}) ==
             "--egress-proxy must name a port between 1 and 65535 "
             "(http://[user:password@]host:port)");
}

BOOST_AUTO_TEST_CASE(help_lists_every_flag) {
  BOOST_TEST(std::holds_alternative<help_requested>(parse({"--help"})));
  auto text = usage();
  for (auto flag : {"--listen", "--data-dir", "--api-key", "--public-url", "--retry-schedule",
                    "--delivery-timeout", "--endpoint-concurrency", "--allow-private-destinations",
                    "--ca-file", "--egress-proxy", "--log-level", "--map-size", "--help"})
    BOOST_TEST(text.find(flag) != std::string::npos, flag);
}

BOOST_AUTO_TEST_CASE(endpoint_disable_after_takes_days_or_zero) {
  using namespace std::chrono_literals;
  BOOST_TEST((std::get<flags>(parse({})).endpoint_disable_after == 24h * 5));
  BOOST_TEST(
      (std::get<flags>(parse({"--endpoint-disable-after", "2d"})).endpoint_disable_after == 48h));
  BOOST_TEST(
      (std::get<flags>(parse({"--endpoint-disable-after=90m"})).endpoint_disable_after == 90min));
  BOOST_TEST(
      std::get<flags>(parse({"--endpoint-disable-after", "0"})).endpoint_disable_after.count() ==
      0);
  for (std::string bad : {"0s", "-1d", "5", "soon"})
    BOOST_TEST(error_of({"--endpoint-disable-after", bad})
                   .starts_with("--endpoint-disable-after must be a positive duration"));
  setenv("RUNDUN_ENDPOINT_DISABLE_AFTER", "3h", 1);
  BOOST_TEST((std::get<flags>(parse({})).endpoint_disable_after == 3h));
  unsetenv("RUNDUN_ENDPOINT_DISABLE_AFTER");
}

BOOST_AUTO_TEST_CASE(the_operator_webhook_and_its_secret_are_checked_and_the_secret_never_echoed) {
  auto f = std::get<flags>(
      parse({"--operator-webhook", "http://ops.internal:9000/notices", "--operator-webhook-secret",
             "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}));
  BOOST_TEST(*f.operator_webhook == "http://ops.internal:9000/notices");
  BOOST_TEST(*f.operator_webhook_secret == "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  BOOST_TEST(!std::get<flags>(parse({})).operator_webhook);
  BOOST_TEST(error_of({"--operator-webhook", "ftp://x"}).starts_with("--operator-webhook "));
  auto bad = error_of({"--operator-webhook-secret", "whsec_notbase64!!sekrit"});
  BOOST_TEST(bad.starts_with("--operator-webhook-secret must be whsec_"));
  BOOST_TEST(bad.find("sekrit") == std::string::npos);
}
