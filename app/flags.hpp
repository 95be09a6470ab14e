#pragma once

#include "actors/cluster_members.hpp"
#include "net/log.hpp"
#include "net/retry_policy.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace rundun::app {

/// The server's settings, from flags and their environment variables (contract §1).
struct flags {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  std::string data_dir = "./rundun-data";
  std::optional<std::string> api_key;
  std::optional<std::string> public_url;
  net::retry_schedule retry = net::default_retry_schedule();
  std::chrono::milliseconds delivery_timeout{10'000};
  std::size_t endpoint_concurrency = 16;
  bool allow_private_destinations = false;
  std::optional<std::string> ca_file;
  /// `--egress-proxy`: the HTTP proxy every delivery goes through, as given (checked by
  /// net::parse_egress_proxy). It may hold a password: never print it.
  std::optional<std::string> egress_proxy;
  /// `--operator-webhook`: where the operator's notices go (checked as a URL).
  std::optional<std::string> operator_webhook;
  /// `--operator-webhook-secret` (`whsec_…`, checked): signs them. A secret: never print it.
  std::optional<std::string> operator_webhook_secret;
  log::level log_level = log::level::info;
  /// The most the LMDB data file may grow to. It only reserves address space.
  std::size_t map_size = std::size_t{64} << 30;
  /// Threads serving the HTTP API: the core count, at most `max_default_http_threads`.
  std::size_t http_threads = default_http_threads();
  /// Ended runs are removed this many days after they ended; 0 keeps everything.
  double retention_days = 30;
  /// An endpoint's actor with nothing to do leaves after this; a kept-alive connection
  /// unused for this long is closed.
  std::chrono::milliseconds endpoint_idle_timeout{300'000};
  std::chrono::milliseconds connection_idle_timeout{30'000};
  /// `--endpoint-disable-after`: an endpoint failing this long is disabled; zero never.
  std::chrono::milliseconds endpoint_disable_after{std::chrono::hours{24 * 5}};

  /// This node's id and the cluster's members (contract §9); both empty for a single node.
  std::optional<std::string> node_id;
  std::vector<cluster::member> cluster;
  /// `--cluster` as given; parse_flags parses it into `cluster` once --node-id is known.
  std::optional<std::string> cluster_list;
  /// Mutual TLS between nodes: all three files, or none.
  std::optional<std::string> cluster_cert, cluster_key, cluster_ca;
  /// `--cluster-insecure`: a cluster in plain text, without the three files above.
  bool cluster_insecure = false;

  static constexpr std::size_t max_default_http_threads = 16;
  static std::size_t default_http_threads();
};

/// Parses a byte size with an optional unit: `512M`, `64G`, `1T` (powers of 1024).
std::optional<std::size_t> parse_byte_size(std::string_view text);

/// `--help` was asked for.
struct help_requested {};

/// A bad flag or value: the one-line message for stderr.
struct flag_error {
  std::string message;
};

/// Parses the command line over the environment: a flag wins over its variable.
std::variant<flags, help_requested, flag_error> parse_flags(int argc, char** argv);

/// The text `--help` prints.
std::string usage();

} // namespace rundun::app
