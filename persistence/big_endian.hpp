#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace rundun::persistence {

/// Big-endian integers sort as numbers in LMDB's byte order: the store's keys use them for
/// times and sequence numbers.
inline std::string big_endian(std::uint64_t x) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i, x >>= 8)
    out[static_cast<std::size_t>(i)] = static_cast<char>(x & 0xff);
  return out;
}

/// The inverse of `big_endian`, over the first 8 bytes of `s` (fewer read as the high bytes).
inline std::uint64_t read_big_endian(std::string_view s) {
  std::uint64_t x = 0;
  for (unsigned char c : s.substr(0, 8))
    x = (x << 8) | c;
  return x;
}

} // namespace rundun::persistence
