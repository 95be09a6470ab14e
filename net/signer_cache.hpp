#pragma once

#include "net/signature.hpp"

#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace rundun::net {

/// The engine's webhook signers by secret, least recently used dropped first: one cache for
/// the whole engine, shared by every endpoint actor.
///
/// Every run has its own secret, so signers kept per endpoint grow with the runs of every
/// endpoint that stays busy. This bound holds over the engine instead, whatever the number
/// of endpoints. Keeping the recent ones keeps the HMAC key set-up off the common path (a
/// run's events go out close together). Thread-safe: endpoint actors call `get` from CAF's
/// worker threads at once. The lock covers only the lookup or the insertion; a signer is
/// made and used outside it.
class signer_cache {
public:
  /// Signers kept at most by default: about 500 bytes each (two keyed SHA-256 states of 112
  /// bytes, the secret, and this cache's nodes), so about 2 MiB when full; a few thousand
  /// runs delivering at once.
  static constexpr std::size_t default_capacity = 4096;

  /// `capacity` is at least 1.
  explicit signer_cache(std::size_t capacity = default_capacity);

  /// The signer of `secret` (a `whsec_…` secret), made and kept if it is not cached; null
  /// when the secret is malformed (see `parse_secret`). The signer stays valid while the
  /// caller holds it, even after the cache drops it; its `sign` may run on several threads
  /// at once.
  std::shared_ptr<const webhook_signer> get(const std::string& secret);

  /// Signers cached now, for the engine's figures.
  std::size_t size() const;
  std::size_t capacity() const { return capacity_; }

private:
  struct entry {
    std::string secret;
    std::shared_ptr<const webhook_signer> signer;
  };

  const std::size_t capacity_;
  mutable std::mutex mtx_;
  /// Most recently used first.
  std::list<entry> order_;
  /// Views the secret of its own entry in `order_`, which a list never moves.
  std::unordered_map<std::string_view, std::list<entry>::iterator> by_secret_;
};

} // namespace rundun::net
