#include "app/flags.hpp"

#include "net/cluster_identity.hpp"
#include "net/egress_proxy.hpp"
#include "net/signature.hpp"
#include "net/url.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <thread>

namespace rundun::app {

namespace {

/// Applies one setting; returns an error message, or empty on success.
using setter = std::function<std::string(flags&, std::string_view)>;

struct option {
  const char* flag;
  const char* env;
  bool takes_value;
  const char* help;
  setter set;
};

std::string set_listen(flags& f, std::string_view v) {
  auto colon = v.rfind(':');
  if (colon == std::string_view::npos || colon == 0)
    return "--listen must be HOST:PORT, got '" + std::string(v) + "'";
  auto host = v.substr(0, colon);
  if (host.starts_with('[') && host.ends_with(']'))
    host = host.substr(1, host.size() - 2);
  auto port = v.substr(colon + 1);
  unsigned p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc{} || end != port.data() + port.size() || p > 65535 || port.empty())
    return "--listen port must be 0 to 65535, got '" + std::string(port) + "'";
  f.host = std::string(host);
  f.port = static_cast<std::uint16_t>(p);
  return {};
}

std::string set_schedule(flags& f, std::string_view v) {
  auto s = net::parse_retry_schedule(v);
  if (!s)
    return "--retry-schedule " + s.error().message() + " (a list like 30s,2m,10m,1h,6h), got '" +
           std::string(v) + "'";
  f.retry = *s;
  return {};
}

std::string set_timeout(flags& f, std::string_view v) {
  auto d = net::parse_duration(v);
  if (!d || d->count() <= 0)
    return "--delivery-timeout must be a positive duration like 10s or 500ms, got '" +
           std::string(v) + "'";
  f.delivery_timeout = *d;
  return {};
}

std::string set_log_level(flags& f, std::string_view v) {
  if (!log::parse_level(v, f.log_level))
    return "--log-level must be debug, info, warn or error, got '" + std::string(v) + "'";
  return {};
}

std::string set_public_url(flags& f, std::string_view v) {
  if (!(v.starts_with("http://") || v.starts_with("https://")) || v.size() < 10)
    return "--public-url must be an absolute http or https URL, got '" + std::string(v) + "'";
  std::string url{v};
  while (url.ends_with('/'))
    url.pop_back();
  f.public_url = url;
  return {};
}

std::string set_ca_file(flags& f, std::string_view v) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(std::string(v), ec))
    return "--ca-file must name a readable file, got '" + std::string(v) + "'";
  f.ca_file = std::string(v);
  return {};
}

std::string set_operator_webhook(flags& f, std::string_view v) {
  auto url = net::parse_url(v);
  if (!url)
    return "--operator-webhook " + url.error().message();
  f.operator_webhook = std::string(v);
  return {};
}

std::string set_operator_webhook_secret(flags& f, std::string_view v) {
  // The value is a secret: the error says what is allowed, never what was given.
  if (!net::parse_secret(v))
    return "--operator-webhook-secret must be whsec_ and the standard base64 of 24 to 64 "
           "random bytes";
  f.operator_webhook_secret = std::string(v);
  return {};
}

std::string set_egress_proxy(flags& f, std::string_view v) {
  // The message says what is wrong without the value: it may carry the proxy's password.
  if (auto proxy = net::parse_egress_proxy(v); !proxy)
    return "--egress-proxy " + proxy.error().message();
  f.egress_proxy = std::string(v);
  return {};
}

std::string set_map_size(flags& f, std::string_view v) {
  constexpr std::size_t min_map_size = std::size_t{16} << 20;
  auto n = parse_byte_size(v);
  if (!n || *n < min_map_size)
    return "--map-size must be a size of at least 16M, like 64G or 512M, got '" + std::string(v) +
           "'";
  f.map_size = *n;
  return {};
}

/// A whole-number flag from `min` to `max`.
setter count_setter(const char* flag, unsigned min, unsigned max, std::size_t flags::*field) {
  return [=](flags& f, std::string_view v) -> std::string {
    unsigned n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc{} || end != v.data() + v.size() || n < min || n > max)
      return std::string(flag) + " must be " + std::to_string(min) + " to " + std::to_string(max) +
             ", got '" + std::string(v) + "'";
    f.*field = n;
    return {};
  };
}

std::string set_retention_days(flags& f, std::string_view v) {
  constexpr double max_retention_days = 36500; // a century: "keep" is 0, not a huge number
  double d = -1;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
  if (ec != std::errc{} || end != v.data() + v.size() || !(d >= 0) || d > max_retention_days)
    return "--retention-days must be a number of days from 0 (keep everything) to 36500, like "
           "30 or 0.5, got '" +
           std::string(v) + "'";
  f.retention_days = d;
  return {};
}

/// A flag that names a readable file.
setter file_setter(const char* flag, std::optional<std::string> flags::*field) {
  return [flag, field](flags& f, std::string_view v) -> std::string {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(std::string(v), ec))
      return std::string(flag) + " must name a readable file, got '" + std::string(v) + "'";
    f.*field = std::string(v);
    return {};
  };
}

/// A flag without a value: given, it is on; from its environment variable, 1/true or 0/false.
setter switch_setter(const char* env, bool flags::*field) {
  return [env, field](flags& f, std::string_view v) -> std::string {
    if (v != "1" && v != "true" && v != "0" && v != "false" && !v.empty())
      return std::string(env) + " must be 1 or 0, got '" + std::string(v) + "'";
    f.*field = v.empty() || v == "1" || v == "true";
    return {};
  };
}

/// Checks that the three cluster files load and that the certificate names this node: its
/// peers would refuse it otherwise (contract §1).
std::string check_own_certificate(const flags& f) {
  auto id = net::cluster_identity::load(*f.cluster_cert, *f.cluster_key, *f.cluster_ca);
  if (!id)
    return id.error();
  if (id->names(*f.node_id))
    return {};
  std::string names;
  for (auto& n : id->names())
    names += (names.empty() ? "'" : ", '") + n + "'";
  return "--cluster-cert must name this node's id '" + *f.node_id +
         "' as its subject CN or a DNS subjectAltName; it names " +
         (names.empty() ? std::string("nothing") : names);
}

/// Checks the cluster flags together, once all are read.
std::string check_cluster(flags& f) {
  auto& list = f.cluster_list;
  if (!list && !f.node_id) {
    if (f.cluster_cert || f.cluster_key || f.cluster_ca)
      return "--cluster-cert, --cluster-key and --cluster-ca need --cluster";
    if (f.cluster_insecure)
      return "--cluster-insecure needs --cluster";
    return {};
  }
  if (!list)
    return "--node-id needs --cluster (the members, this node included)";
  if (!f.node_id)
    return "--cluster needs --node-id (which member this node is)";
  auto members = cluster::parse_members(*list, *f.node_id);
  if (auto* error = std::get_if<std::string>(&members))
    return *error;
  f.cluster = std::get<std::vector<cluster::member>>(std::move(members));
  int tls_files = !!f.cluster_cert + !!f.cluster_key + !!f.cluster_ca;
  if (tls_files != 0 && tls_files != 3)
    return "--cluster-cert, --cluster-key and --cluster-ca go together: give all three or none";
  if (tls_files == 0 && !f.cluster_insecure)
    return "--cluster needs --cluster-cert, --cluster-key and --cluster-ca (mutual TLS between "
           "nodes), or --cluster-insecure for plain text on a network only the nodes reach";
  if (tls_files == 3 && f.cluster_insecure)
    return "--cluster-insecure goes without --cluster-cert, --cluster-key and --cluster-ca";
  if (tls_files == 3)
    return check_own_certificate(f);
  return {};
}

/// A positive duration flag such as `30s` or `5m`.
setter duration_setter(const char* flag, std::chrono::milliseconds flags::*field) {
  return [flag, field](flags& f, std::string_view v) -> std::string {
    auto d = net::parse_duration(v);
    if (!d || d->count() <= 0)
      return std::string(flag) + " must be a positive duration like 30s, 5m or 500ms, got '" +
             std::string(v) + "'";
    f.*field = *d;
    return {};
  };
}

const std::vector<option>& options() {
  static const std::vector<option> all = {
      {"--listen", "RUNDUN_LISTEN", true,
       "HOST:PORT for the API and executor links (127.0.0.1:8080)", set_listen},
      {"--data-dir", "RUNDUN_DATA_DIR", true,
       "the LMDB environment, created if missing (./rundun-data)",
       [](flags& f, std::string_view v) -> std::string {
         if (v.empty())
           return "--data-dir must not be empty";
         f.data_dir = std::string(v);
         return {};
       }},
      {"--api-key", "RUNDUN_API_KEY", true,
       "bearer token for /v1/* (default: generated on first start, printed once)",
       [](flags& f, std::string_view v) -> std::string {
         constexpr std::size_t min_key_length = 16;
         if (v.size() < min_key_length)
           return "--api-key must be at least 16 characters";
         f.api_key = std::string(v);
         return {};
       }},
      {"--public-url", "RUNDUN_PUBLIC_URL", true, "base of the executor links (http://<listen>)",
       set_public_url},
      {"--retry-schedule", "RUNDUN_RETRY_SCHEDULE", true,
       "delays after attempt 1, 2, ...; units ms, s, m, h (30s,2m,10m,1h,6h)", set_schedule},
      {"--delivery-timeout", "RUNDUN_DELIVERY_TIMEOUT", true,
       "one attempt: connect + request + response (10s)", set_timeout},
      {"--endpoint-concurrency", "RUNDUN_ENDPOINT_CONCURRENCY", true,
       "requests in flight at once to one endpoint (16)",
       count_setter("--endpoint-concurrency", 1, 1024, &flags::endpoint_concurrency)},
      {"--allow-private-destinations", "RUNDUN_ALLOW_PRIVATE_DESTINATIONS", false,
       "allow webhook URLs on loopback, private or link-local addresses (off)",
       switch_setter("RUNDUN_ALLOW_PRIVATE_DESTINATIONS", &flags::allow_private_destinations)},
      {"--ca-file", "RUNDUN_CA_FILE", true, "extra CA bundle trusted for HTTPS delivery",
       set_ca_file},
      {"--operator-webhook", "RUNDUN_OPERATOR_WEBHOOK", true,
       "where the operator's notices go (endpoint.failing, endpoint.disabled, "
       "endpoint.recovered), signed with --operator-webhook-secret; no destination guard (none)",
       set_operator_webhook},
      {"--operator-webhook-secret", "RUNDUN_OPERATOR_WEBHOOK_SECRET", true,
       "whsec_ secret that signs the operator's notices (generated on first start, kept in the "
       "data dir, printed once)",
       set_operator_webhook_secret},
      {"--egress-proxy", "RUNDUN_EGRESS_PROXY", true,
       "send every delivery through this HTTP proxy, http://[user:password@]host:port, as a "
       "CONNECT tunnel to the address the destination guard checked (none)",
       set_egress_proxy},
      {"--log-level", "RUNDUN_LOG_LEVEL", true, "debug, info, warn or error (info)", set_log_level},
      {"--map-size", "RUNDUN_MAP_SIZE", true,
       "most the LMDB data file may grow to; units K, M, G, T (64G)", set_map_size},
      {"--http-threads", "RUNDUN_HTTP_THREADS", true,
       "threads serving the HTTP API (the core count, at most 16)",
       count_setter("--http-threads", 1, 256, &flags::http_threads)},
      {"--retention-days", "RUNDUN_RETENTION_DAYS", true,
       "remove ended runs, their events and photos this many days after they ended; "
       "fractional allowed, 0 keeps everything (30)",
       set_retention_days},
      {"--endpoint-idle-timeout", "RUNDUN_ENDPOINT_IDLE_TIMEOUT", true,
       "an endpoint with nothing to deliver for this long frees its actor, connections and "
       "keys (5m)",
       duration_setter("--endpoint-idle-timeout", &flags::endpoint_idle_timeout)},
      {"--connection-idle-timeout", "RUNDUN_CONNECTION_IDLE_TIMEOUT", true,
       "a kept-alive connection to an endpoint unused for this long is closed (30s)",
       duration_setter("--connection-idle-timeout", &flags::connection_idle_timeout)},
      {"--endpoint-disable-after", "RUNDUN_ENDPOINT_DISABLE_AFTER", true,
       "an endpoint whose every attempt has failed for this long is disabled: its waiting and "
       "new events fail with endpoint_disabled until it is recovered; 0 never disables (5d)",
       [](flags& f, std::string_view v) -> std::string {
         if (v == "0") {
           f.endpoint_disable_after = std::chrono::milliseconds{0};
           return {};
         }
         auto d = net::parse_duration(v);
         if (!d || d->count() <= 0)
           return "--endpoint-disable-after must be a positive duration like 5d, 12h or 30m, "
                  "or 0 to never disable, got '" +
                  std::string(v) + "'";
         f.endpoint_disable_after = *d;
         return {};
       }},
      {"--node-id", "RUNDUN_NODE_ID", true,
       "this node's id in a cluster, [a-z0-9-]{1,32}; the data dir remembers it",
       [](flags& f, std::string_view v) -> std::string {
         if (!cluster::valid_node_id(v))
           return "--node-id must match [a-z0-9-]{1,32}, got '" + std::string(v) + "'";
         f.node_id = std::string(v);
         return {};
       }},
      {"--cluster", "RUNDUN_CLUSTER", true,
       "ID=HOST:PORT,...: every member, this node included, and where its cluster port "
       "listens; the same list on every node (none: a single node)",
       [](flags& f, std::string_view v) -> std::string {
         f.cluster_list = std::string(v); // parsed with --node-id, once every flag is read
         return {};
       }},
      {"--cluster-cert", "RUNDUN_CLUSTER_CERT", true,
       "this node's certificate (PEM) for mutual TLS between nodes",
       file_setter("--cluster-cert", &flags::cluster_cert)},
      {"--cluster-key", "RUNDUN_CLUSTER_KEY", true, "its private key (PEM)",
       file_setter("--cluster-key", &flags::cluster_key)},
      {"--cluster-ca", "RUNDUN_CLUSTER_CA", true,
       "the CA (PEM) that signed every node's certificate",
       file_setter("--cluster-ca", &flags::cluster_ca)},
      {"--cluster-insecure", "RUNDUN_CLUSTER_INSECURE", false,
       "allow --cluster without the certificate flags: nodes talk in plain text, for a "
       "network only the cluster's nodes can reach (off)",
       switch_setter("RUNDUN_CLUSTER_INSECURE", &flags::cluster_insecure)},
  };
  return all;
}

} // namespace

std::size_t flags::default_http_threads() {
  auto cores = static_cast<std::size_t>(std::thread::hardware_concurrency());
  return std::clamp<std::size_t>(cores, 1, max_default_http_threads);
}

std::optional<std::size_t> parse_byte_size(std::string_view text) {
  std::size_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end == text.data())
    return std::nullopt;
  std::string_view unit{end, static_cast<std::size_t>(text.data() + text.size() - end)};
  static const std::map<std::string_view, int> shifts{
      {"", 0}, {"K", 10}, {"M", 20}, {"G", 30}, {"T", 40}};
  auto s = shifts.find(unit);
  if (s == shifts.end() || n > (std::numeric_limits<std::size_t>::max() >> s->second))
    return std::nullopt;
  return n << s->second;
}

std::string usage() {
  std::string out = "Usage: rundund [flags]\n\nThe Rundun delivery engine: runs, executor links, "
                    "and signed webhooks.\n\nFlags (each also read from its environment variable; "
                    "a flag wins):\n";
  for (auto& o : options()) {
    std::string left = std::string("  ") + o.flag + (o.takes_value ? " VALUE" : "");
    left.resize(std::max<std::size_t>(left.size() + 2, 34), ' ');
    out += left + o.help + "  [" + o.env + "]\n";
  }
  out += "  --help                          print this and exit\n";
  return out;
}

std::variant<flags, help_requested, flag_error> parse_flags(int argc, char** argv) {
  flags f;
  // Environment first, so that flags override it.
  for (auto& o : options()) {
    if (const char* v = std::getenv(o.env); v && *v) {
      if (auto err = o.set(f, v); !err.empty())
        return flag_error{o.env + std::string(": ") + err};
    }
  }
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h")
      return help_requested{};
    std::string_view name = arg;
    std::optional<std::string_view> value;
    if (auto eq = arg.find('='); eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    const option* match = nullptr;
    for (auto& o : options())
      if (name == o.flag)
        match = &o;
    if (!match)
      return flag_error{"unknown flag '" + std::string(name) + "' (see --help)"};
    if (!match->takes_value) {
      if (value)
        return flag_error{std::string(match->flag) + " takes no value"};
      if (auto err = match->set(f, ""); !err.empty())
        return flag_error{err};
      continue;
    }
    if (!value) {
      if (i + 1 >= argc)
        return flag_error{std::string(match->flag) + " needs a value"};
      value = argv[++i];
    }
    if (auto err = match->set(f, *value); !err.empty())
      return flag_error{err};
  }
  if (auto err = check_cluster(f); !err.empty())
    return flag_error{err};
  return f;
}

} // namespace rundun::app
