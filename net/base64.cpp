#include "net/base64.hpp"

#include <array>
#include <cstdint>

namespace rundun::net {

namespace {

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int, 256> make_reverse() {
  std::array<int, 256> r{};
  for (auto& x : r)
    x = -1;
  for (int i = 0; i < 64; ++i)
    r[static_cast<unsigned char>(alphabet[i])] = i;
  return r;
}

constexpr auto reverse = make_reverse();

} // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t n = (std::uint32_t(static_cast<unsigned char>(bytes[i])) << 16) |
                      (std::uint32_t(static_cast<unsigned char>(bytes[i + 1])) << 8) |
                      static_cast<unsigned char>(bytes[i + 2]);
    out += {alphabet[n >> 18], alphabet[(n >> 12) & 63], alphabet[(n >> 6) & 63], alphabet[n & 63]};
  }
  if (auto rest = bytes.size() - i; rest > 0) {
    std::uint32_t n = std::uint32_t(static_cast<unsigned char>(bytes[i])) << 16;
    if (rest == 2)
      n |= std::uint32_t(static_cast<unsigned char>(bytes[i + 1])) << 8;
    out += alphabet[n >> 18];
    out += alphabet[(n >> 12) & 63];
    out += rest == 2 ? alphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0)
    return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    int pad = 0;
    std::uint32_t n = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      char c = text[i + j];
      if (c == '=' && last && j >= 2) {
        ++pad;
        n <<= 6;
        continue;
      }
      int v = reverse[static_cast<unsigned char>(c)];
      if (v < 0 || pad > 0)
        return std::nullopt;
      n = (n << 6) | static_cast<std::uint32_t>(v);
    }
    out.push_back(static_cast<char>(n >> 16));
    if (pad < 2)
      out.push_back(static_cast<char>((n >> 8) & 0xff));
    if (pad < 1)
      out.push_back(static_cast<char>(n & 0xff));
  }
  return out;
}

} // namespace rundun::net
