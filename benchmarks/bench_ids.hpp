#pragma once

// Ids of the records a benchmark writes straight into a store (list_bench, recovery_bench):
// UUID v7 in shape, numbered, so that they sort as they are numbered.

#include <cstdint>
#include <cstdio>
#include <string>

namespace rundun::bench {

/// `prefix` (`"t-"`, `"r-"`, `"evt-"`) and a v7-shaped UUID whose last 48 bits are `n`.
inline std::string numbered_id(const char* prefix, std::uint64_t n) {
  char tail[16];
  std::snprintf(tail, sizeof tail, "%012llx", static_cast<unsigned long long>(n));
  return prefix + std::string("01a00000-0000-7000-8000-") + tail;
}

} // namespace rundun::bench
