#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/ip/address.hpp>

namespace rundun::net {

/// Host names whose answers the DNS cache keeps at most. One cache serves every endpoint of
/// an engine, so this bounds it over the whole engine.
constexpr std::size_t default_dns_cache_capacity = 4096;

/// The addresses of one host name, as DNS answered them (IPv4 and IPv6).
using address_list = std::vector<boost::asio::ip::address>;

/// DNS answers kept for their TTL: a map from host name to addresses, bounded by a count of
/// names, that evicts the least recently used name when full.
///
/// Pure logic: the caller passes the time, so a test owns the clock. Not thread-safe; the
/// resolver uses it from its strand only. Names are taken as given (the resolver lowercases
/// them).
class dns_cache {
public:
  using clock = std::chrono::steady_clock;

  /// A cache of at most `capacity` names (at least one).
  explicit dns_cache(std::size_t capacity = default_dns_cache_capacity);

  /// The addresses cached for `host`, if their answer has not expired at `now`; an expired
  /// answer is dropped. A hit makes `host` the most recently used name.
  std::optional<address_list> find(const std::string& host, clock::time_point now);

  /// Keeps `addresses` for `host` until `expires`, replacing an earlier answer, and makes it
  /// the most recently used name; when the cache is full, the least recently used name goes.
  void insert(const std::string& host, address_list addresses, clock::time_point expires);

  /// Names cached now, expired ones not yet dropped included (for metrics).
  std::size_t size() const { return index_.size(); }

  /// The most names the cache holds.
  std::size_t capacity() const { return capacity_; }

private:
  struct entry {
    std::string host;
    address_list addresses;
    clock::time_point expires;
  };
  using entries = std::list<entry>;

  std::size_t capacity_;
  /// Most recently used first.
  entries lru_;
  std::unordered_map<std::string, entries::iterator> index_;
};

} // namespace rundun::net
