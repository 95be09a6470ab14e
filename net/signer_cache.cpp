#include "net/signer_cache.hpp"

#include <algorithm>

namespace rundun::net {

signer_cache::signer_cache(std::size_t capacity) : capacity_(std::max<std::size_t>(1, capacity)) {}

std::shared_ptr<const webhook_signer> signer_cache::get(const std::string& secret) {
  {
    std::lock_guard guard{mtx_};
    if (auto it = by_secret_.find(secret); it != by_secret_.end()) {
      order_.splice(order_.begin(), order_, it->second);
      return it->second->signer;
    }
  }
  // Decoding the secret and keying HMAC (two SHA-256 blocks) are done outside the lock, so
  // a miss on one worker thread does not hold up the hits of the others.
  auto key = parse_secret(secret);
  if (!key)
    return nullptr;
  auto made = std::make_shared<const webhook_signer>(*key);
  // The entry evicted below is destroyed after the lock is released (it frees the signer's
  // states), and so is the signer made here if another thread cached one first.
  std::list<entry> evicted;
  std::lock_guard guard{mtx_};
  if (auto it = by_secret_.find(secret); it != by_secret_.end()) {
    order_.splice(order_.begin(), order_, it->second);
    return it->second->signer;
  }
  if (order_.size() >= capacity_) {
    by_secret_.erase(order_.back().secret);
    evicted.splice(evicted.begin(), order_, std::prev(order_.end()));
  }
  order_.push_front(entry{secret, made});
  by_secret_.emplace(order_.front().secret, order_.begin());
  return made;
}

std::size_t signer_cache::size() const {
  std::lock_guard guard{mtx_};
  return order_.size();
}

} // namespace rundun::net
