#pragma once

#include "net/signature.hpp"

#include <cstddef>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>

namespace rundun::net {

/// The signers of the secrets an endpoint signs with, least recently used dropped first.
///
/// Every run has its own secret, so a map of signers that is never trimmed grows with
/// every run ever delivered. Keeping the recent ones keeps the HMAC key set-up off the
/// common path (a run's events go out close together) while memory stays bounded. Owned by
/// one endpoint actor; not thread-safe.
class signer_cache {
public:
  /// Signers kept at most by default: a few hundred runs delivering at once to one endpoint.
  static constexpr std::size_t default_capacity = 256;

  explicit signer_cache(std::size_t capacity = default_capacity);

  /// The signer of `secret` (a `whsec_…` secret), made and kept if it is not cached; null
  /// when the secret is malformed (see `parse_secret`). The pointer is valid until the next
  /// call.
  const webhook_signer* get(const std::string& secret);

  std::size_t size() const { return by_secret_.size(); }
  std::size_t capacity() const { return capacity_; }

private:
  struct entry {
    std::string secret;
    webhook_signer signer;
  };
  std::size_t capacity_;
  /// Most recently used first.
  std::list<entry> order_;
  std::unordered_map<std::string_view, std::list<entry>::iterator> by_secret_;
};

} // namespace rundun::net
