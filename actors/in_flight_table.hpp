#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace rundun {

/// Attempts in flight per endpoint key: endpoint actors add and remove theirs, and `GET
/// /v1/endpoints` reads them. An endpoint at zero has no entry, so the table holds only
/// endpoints with an attempt in flight. Thread-safe.
class in_flight_table {
public:
  void add(const std::string& endpoint, std::int64_t n) {
    std::lock_guard guard{mtx_};
    auto& x = counts_[endpoint];
    x += n;
    if (x <= 0)
      counts_.erase(endpoint);
  }

  std::int64_t get(const std::string& endpoint) const {
    std::lock_guard guard{mtx_};
    auto it = counts_.find(endpoint);
    return it == counts_.end() ? 0 : it->second;
  }

private:
  mutable std::mutex mtx_;
  std::unordered_map<std::string, std::int64_t> counts_;
};

} // namespace rundun
