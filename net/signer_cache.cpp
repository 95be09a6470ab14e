#include "net/signer_cache.hpp"

#include <algorithm>

namespace rundun::net {

signer_cache::signer_cache(std::size_t capacity) : capacity_(std::max<std::size_t>(1, capacity)) {}

const webhook_signer* signer_cache::get(const std::string& secret) {
  if (auto it = by_secret_.find(secret); it != by_secret_.end()) {
    order_.splice(order_.begin(), order_, it->second);
    return &it->second->signer;
  }
  auto key = parse_secret(secret);
  if (!key)
    return nullptr;
  if (order_.size() >= capacity_) {
    by_secret_.erase(order_.back().secret);
    order_.pop_back();
  }
  order_.push_front(entry{secret, webhook_signer{*key}});
  // The map's key views the list entry's own string, which a list never moves.
  by_secret_.emplace(order_.front().secret, order_.begin());
  return &order_.front().signer;
}

} // namespace rundun::net
