#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace rundun::test {

/// A DNS server for tests on 127.0.0.1:<free port>, UDP only, on a thread of its own. It
/// answers A queries for the names it was given, answers AAAA queries for them with no
/// record, says NXDOMAIN for other names, and never answers the names it was told to ignore:
/// a name server that hangs. It counts the A queries per name, to check caching and single
/// flight.
class dns_server {
public:
  dns_server();
  ~dns_server();
  dns_server(const dns_server&) = delete;
  dns_server& operator=(const dns_server&) = delete;

  /// Answers A queries for `name` (any case) with `ipv4` and `ttl`, each query after
  /// `delay` (a slow but working name server, for overlapping lookups).
  void add(const std::string& name, const std::string& ipv4,
           std::chrono::seconds ttl = std::chrono::seconds{60},
           std::chrono::milliseconds delay = std::chrono::milliseconds{0});
  /// Never answers any query for `name`.
  void ignore(const std::string& name);

  std::uint16_t port() const { return port_; }
  /// `127.0.0.1:<port>`, as resolver_options::servers takes it.
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  /// A queries received for `name` so far, answered or not.
  std::size_t a_queries(const std::string& name) const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
  std::uint16_t port_ = 0;
};

} // namespace rundun::test
