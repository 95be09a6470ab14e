#include "net/destination_guard.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <string>
#include <vector>

namespace rundun::net {

namespace asio = boost::asio;

namespace {

struct v4_range {
  std::uint32_t base;
  int prefix;
};

constexpr std::uint32_t ip4(int a, int b, int c, int d) {
  return (std::uint32_t(a) << 24) | (std::uint32_t(b) << 16) | (std::uint32_t(c) << 8) |
         std::uint32_t(d);
}

/// The non-public IPv4 ranges of the contract.
constexpr std::array<v4_range, 11> blocked_v4{{
    {ip4(0, 0, 0, 0), 8},      // "this network", unspecified
    {ip4(10, 0, 0, 0), 8},     // private
    {ip4(100, 64, 0, 0), 10},  // shared address space (carrier-grade NAT)
    {ip4(127, 0, 0, 0), 8},    // loopback
    {ip4(169, 254, 0, 0), 16}, // link-local, cloud metadata
    {ip4(172, 16, 0, 0), 12},  // private
    {ip4(192, 0, 0, 0), 24},   // IETF protocol assignments
    {ip4(192, 168, 0, 0), 16}, // private
    {ip4(198, 18, 0, 0), 15},  // benchmarking
    {ip4(224, 0, 0, 0), 4},    // multicast
    {ip4(240, 0, 0, 0), 4},    // reserved, broadcast
}};

bool public_v4(std::uint32_t a) {
  for (auto& r : blocked_v4) {
    std::uint32_t mask = r.prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - r.prefix);
    if ((a & mask) == r.base)
      return false;
  }
  return true;
}

using v6_bytes = asio::ip::address_v6::bytes_type;

/// The IPv4 address at bytes `at` of `b` (four indexes, as RFC 6052 places them).
std::uint32_t v4_at(const v6_bytes& b, std::array<int, 4> at) {
  return ip4(b[at[0]], b[at[1]], b[at[2]], b[at[3]]);
}

bool starts_with(const v6_bytes& b, std::initializer_list<unsigned char> prefix) {
  return std::equal(prefix.begin(), prefix.end(), b.begin());
}

/// The IPv4 addresses that an IPv6 address of a translation or tunnel prefix carries, each
/// of which a packet to it may end up at: NAT64 (RFC 6052; in the local-use 64:ff9b:1::/48
/// the operator picks the prefix length, so every place a length within it may put the
/// address counts), 6to4 (RFC 3056) and Teredo (RFC 4380: the server, and the client with
/// its bits inverted). Empty for any other address.
std::vector<std::uint32_t> carried_v4(const v6_bytes& b) {
  bool middle_zero =
      std::all_of(b.begin() + 4, b.begin() + 12, [](unsigned char c) { return c == 0; });
  if (starts_with(b, {0x00, 0x64, 0xff, 0x9b}) && middle_zero) // 64:ff9b::/96
    return {v4_at(b, {12, 13, 14, 15})};
  if (starts_with(b, {0x00, 0x64, 0xff, 0x9b, 0x00, 0x01})) // 64:ff9b:1::/48
    return {v4_at(b, {6, 7, 9, 10}), v4_at(b, {7, 9, 10, 11}), v4_at(b, {9, 10, 11, 12}),
            v4_at(b, {10, 11, 12, 13}), v4_at(b, {12, 13, 14, 15})};
  if (starts_with(b, {0x20, 0x02})) // 2002::/16
    return {v4_at(b, {2, 3, 4, 5})};
  if (starts_with(b, {0x20, 0x01, 0x00, 0x00})) // 2001::/32
    return {v4_at(b, {4, 5, 6, 7}), ~v4_at(b, {12, 13, 14, 15})};
  return {};
}

} // namespace

std::optional<asio::ip::address> parse_ip_literal(std::string_view host) {
  std::string h(host);
  if (h.find(':') != std::string::npos) {
    in6_addr a6{};
    if (::inet_pton(AF_INET6, h.c_str(), &a6) != 1)
      return std::nullopt;
    asio::ip::address_v6::bytes_type bytes;
    std::copy(std::begin(a6.s6_addr), std::end(a6.s6_addr), bytes.begin());
    return asio::ip::address{asio::ip::address_v6{bytes}};
  }
  // inet_aton reads every historical IPv4 spelling, exactly as the resolver would when
  // given the host: 1 to 4 parts, each decimal, octal (leading 0) or hex (0x).
  in_addr a4{};
  if (h.empty() || ::inet_aton(h.c_str(), &a4) == 0)
    return std::nullopt;
  return asio::ip::address{asio::ip::address_v4{ntohl(a4.s_addr)}};
}

bool is_public(const asio::ip::address& addr) {
  if (addr.is_v4())
    return public_v4(addr.to_v4().to_uint());
  auto v6 = addr.to_v6();
  auto b = v6.to_bytes();
  if (v6.is_v4_mapped())
    return public_v4(v6.to_v4().to_uint());
  // IPv4-compatible (::a.b.c.d, deprecated but still routed by some stacks), which also
  // covers :: and ::1.
  bool high_zero = std::all_of(b.begin(), b.begin() + 12, [](unsigned char c) { return c == 0; });
  if (high_zero)
    return public_v4(ip4(b[12], b[13], b[14], b[15]));
  auto carried = carried_v4(b);
  if (!std::all_of(carried.begin(), carried.end(), public_v4))
    return false;
  if ((b[0] & 0xfe) == 0xfc) // fc00::/7 unique local
    return false;
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) // fe80::/10 link-local
    return false;
  if (b[0] == 0xff) // ff00::/8 multicast
    return false;
  return true;
}

} // namespace rundun::net
