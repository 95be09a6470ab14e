#include "persistence/ids.hpp"

#include <cstdio>
#include <cstdlib>
#include <openssl/rand.h>

namespace rundun {

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    // Ids and tokens guessed from a broken generator would leak runs: refuse to go on.
    std::fputs("rundund: the system random generator failed\n", stderr);
    std::abort();
  }
  return out;
}

std::string make_uuid_v4() {
  auto b = random_bytes(16);
  b[6] = static_cast<char>((b[6] & 0x0f) | 0x40); // version 4
  b[8] = static_cast<char>((b[8] & 0x3f) | 0x80); // RFC 4122 variant
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      out.push_back('-');
    auto c = static_cast<unsigned char>(b[i]);
    out.push_back(hex[c >> 4]);
    out.push_back(hex[c & 0xf]);
  }
  return out;
}

template_id make_template_id() {
  return {"t-" + make_uuid_v4()};
}
run_id make_run_id() {
  return {"r-" + make_uuid_v4()};
}
event_id make_event_id() {
  return {"evt-" + make_uuid_v4()};
}
photo_id make_photo_id() {
  return {"p-" + make_uuid_v4()};
}

std::string make_link_token() {
  constexpr std::size_t token_bytes = 32;
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  auto raw = random_bytes(token_bytes);
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : raw) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(alphabet[(acc >> bits) & 0x3f]);
    }
  }
  if (bits > 0)
    out.push_back(alphabet[(acc << (6 - bits)) & 0x3f]);
  return out;
}

} // namespace rundun
