#pragma once

#include "net/dns_cache.hpp"
#include "net/error.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>

namespace rundun::net {

/// Where the resolver asks, and how much it keeps.
struct resolver_options {
  /// Name servers to ask instead of those in /etc/resolv.conf, as `ip:port` (IPv6:
  /// `[ip]:port`), comma-separated. Tests point it at a DNS server on loopback.
  std::optional<std::string> servers;
  /// Host names whose answers are cached at most.
  std::size_t cache_capacity = default_dns_cache_capacity;
};

/// Resolves webhook host names to their IPv4 and IPv6 addresses, asynchronously on an
/// io_context, with c-ares: each lookup is a few UDP packets that the io_context waits on,
/// so a name server that does not answer holds only the lookups of that name, never a thread
/// or the lookups of other names (Asio's own resolver runs every getaddrinfo on one thread).
///
/// Answers are cached for their TTL (see dns_cache), and concurrent lookups of one name share
/// one query. One resolver serves every endpoint client of an engine, so its cache and its
/// socket to the name servers are shared. Owned through a shared_ptr by the engine and by
/// the clients; lookups in flight keep it alive.
class resolver {
public:
  using clock = std::chrono::steady_clock;
  /// Gets the host's addresses (never empty), or an error in the net category: `dns_timeout`
  /// at the deadline, `dns_not_found`, `dns_no_address`, `dns_no_answer`,
  /// `dns_server_failure`, `dns_failed` or `dns_busy`.
  using completion = std::function<void(result<address_list>)>;

  /// A resolver on `io` that reads /etc/resolv.conf (and /etc/hosts), or asks
  /// `opts.servers`. Fails with `dns_servers` for a malformed server list, `dns_setup` when
  /// c-ares cannot start.
  static result<std::shared_ptr<resolver>> make(boost::asio::io_context& io, resolver_options opts);
  virtual ~resolver() = default;

  /// Looks up `host`; `done` gets the outcome exactly once, at the latest at `deadline`, and
  /// nothing waits for the lookup after that. An IP literal (in any spelling that
  /// parse_ip_literal reads) never touches DNS: it is answered at once, on the calling
  /// thread, before `resolve` returns. Otherwise `done` runs on the resolver's strand (an io
  /// thread): it must not block, and it should post to its own executor. Callable from any
  /// thread.
  virtual void resolve(std::string host, clock::time_point deadline, completion done) = 0;

  /// Host names cached now (for metrics). Approximate when read from another thread.
  virtual std::size_t cached_names() const = 0;

  /// Distinct names being looked up now. Approximate when read from another thread.
  virtual std::size_t lookups_in_flight() const = 0;
};

} // namespace rundun::net
