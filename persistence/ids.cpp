#include "persistence/ids.hpp"

#include "persistence/clock.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <openssl/rand.h>
#include <utility>

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

namespace {

constexpr char base64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::size_t uuid_length = 36;
constexpr std::size_t token_length = 43;
/// The last character of a marked token: index 1, which a plain token never ends with.
constexpr char marked_token_tail = 'B';

std::string format_uuid(const std::string& b) {
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

std::uint64_t load_be64(const char* p) {
  std::uint64_t x = 0;
  for (int i = 0; i < 8; ++i)
    x = (x << 8) | static_cast<unsigned char>(p[i]);
  return x;
}

/// The node's last v7 id, so that the next one is strictly greater (RFC 9562 §6.2, method 2:
/// a monotonic random increment within a millisecond). Ids made in the same millisecond then
/// sort in the order they were made, on every thread, which "newest first" relies on; and
/// they stay unguessable, since each step is random.
class v7_sequence {
public:
  /// The (millisecond, 62-bit rand_b) of the next id: `fresh` (random) in a millisecond
  /// later than the last id's, or the last one's plus 1 + 32 random bits (`step`) otherwise.
  /// A clock that went back keeps the last millisecond. Thread-safe.
  static std::pair<std::uint64_t, std::uint64_t> next(std::uint64_t ms, std::uint64_t fresh,
                                                      std::uint64_t step) {
    // A fresh millisecond starts in the lower half of rand_b, leaving 2^61 for increments.
    constexpr std::uint64_t fresh_mask = (std::uint64_t{1} << 61) - 1;
    constexpr std::uint64_t rand_b_limit = std::uint64_t{1} << 62;
    static std::mutex m;
    static std::uint64_t last_ms = 0;
    static std::uint64_t last_tail = 0;
    std::lock_guard lock{m};
    std::uint64_t tail = fresh & fresh_mask;
    if (ms <= last_ms) {
      ms = last_ms;
      tail = last_tail + 1 + (step & 0xffffffffu);
      if (tail >= rand_b_limit) { // 2^29 ids in one millisecond: borrow the next one
        ++ms;
        tail = fresh & fresh_mask;
      }
    }
    last_ms = ms;
    last_tail = tail;
    return {ms, tail};
  }
};

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

int base64url_value(char c) {
  auto at = std::string_view{base64url}.find(c);
  return at == std::string_view::npos ? -1 : static_cast<int>(at);
}

std::optional<owner_mark> valid_mark(unsigned value) {
  if (value == 0 || value > max_owner_mark)
    return std::nullopt;
  return owner_mark{static_cast<std::uint16_t>(value)};
}

} // namespace

std::string make_uuid_v4() {
  auto b = random_bytes(16);
  b[6] = static_cast<char>((b[6] & 0x0f) | 0x40); // version 4
  b[8] = static_cast<char>((b[8] & 0x3f) | 0x80); // RFC 4122 variant
  return format_uuid(b);
}

std::string make_uuid_v7(owner_mark owner) {
  auto b = random_bytes(16);
  auto [ms, tail] = v7_sequence::next(static_cast<std::uint64_t>(to_unix_ms(now())),
                                      load_be64(b.data() + 8), load_be64(b.data()));
  for (int i = 0; i < 6; ++i)
    b[i] = static_cast<char>((ms >> (8 * (5 - i))) & 0xff);
  b[6] = static_cast<char>(0x70 | ((owner.value >> 8) & 0x0f)); // version 7, rand_a high
  b[7] = static_cast<char>(owner.value & 0xff);                 // rand_a low
  for (int i = 0; i < 8; ++i)
    b[8 + i] = static_cast<char>((tail >> (8 * (7 - i))) & 0xff);
  b[8] = static_cast<char>((b[8] & 0x3f) | 0x80); // RFC 4122 variant
  return format_uuid(b);
}

owner_mark make_owner_mark(std::string_view node_id) {
  // FNV-1a: stable across builds and machines, which std::hash is not.
  std::uint32_t h = 2166136261u;
  for (unsigned char c : node_id)
    h = (h ^ c) * 16777619u;
  // A final mix (MurmurHash3's), so that names that differ in one character spread evenly.
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return owner_mark{static_cast<std::uint16_t>(h % max_owner_mark + 1)};
}

std::optional<owner_mark> owner_of_id(std::string_view id) {
  auto dash = id.find('-');
  if (dash == std::string_view::npos || id.size() - dash - 1 != uuid_length)
    return std::nullopt;
  auto uuid = id.substr(dash + 1);
  // xxxxxxxx-xxxx-7aaa-...: the version is at 14, rand_a at 15..17.
  if (uuid[14] != '7')
    return std::nullopt;
  unsigned mark = 0;
  for (std::size_t i = 15; i < 18; ++i) {
    auto v = hex_value(uuid[i]);
    if (v < 0)
      return std::nullopt;
    mark = (mark << 4) | static_cast<unsigned>(v);
  }
  return valid_mark(mark);
}

std::optional<owner_mark> owner_of_token(std::string_view token) {
  if (token.size() != token_length || token.back() != marked_token_tail)
    return std::nullopt;
  auto hi = base64url_value(token[0]), lo = base64url_value(token[1]);
  if (hi < 0 || lo < 0)
    return std::nullopt;
  return valid_mark(static_cast<unsigned>(hi << 6 | lo));
}

std::string make_link_token(owner_mark owner) {
  auto token = make_link_token();
  token[0] = base64url[(owner.value >> 6) & 0x3f];
  token[1] = base64url[owner.value & 0x3f];
  token.back() = marked_token_tail;
  return token;
}

std::string make_link_token() {
  constexpr std::size_t token_bytes = 32;
  const auto& alphabet = base64url;
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
