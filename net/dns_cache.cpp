#include "net/dns_cache.hpp"

#include <algorithm>

namespace rundun::net {

dns_cache::dns_cache(std::size_t capacity) : capacity_(std::max<std::size_t>(1, capacity)) {}

std::optional<address_list> dns_cache::find(const std::string& host, clock::time_point now) {
  auto it = index_.find(host);
  if (it == index_.end())
    return std::nullopt;
  if (it->second->expires <= now) {
    // Dropped at once: an expired answer only takes a slot from a live one.
    lru_.erase(it->second);
    index_.erase(it);
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->addresses;
}

void dns_cache::insert(const std::string& host, address_list addresses, clock::time_point expires) {
  if (auto it = index_.find(host); it != index_.end()) {
    it->second->addresses = std::move(addresses);
    it->second->expires = expires;
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  if (index_.size() >= capacity_) {
    index_.erase(lru_.back().host);
    lru_.pop_back();
  }
  lru_.push_front({host, std::move(addresses), expires});
  index_.emplace(host, lru_.begin());
}

} // namespace rundun::net
