#pragma once

#include <optional>
#include <string_view>

#include <boost/asio/ip/address.hpp>

namespace rundun::net {

/// Reads a URL host as an IP address in any spelling a resolver or browser would accept:
/// dotted quads, and the short, decimal, octal and hex IPv4 forms (`127.1`, `2130706433`,
/// `0x7f.1`, `0177.0.0.1` are all 127.0.0.1), and IPv6 (without brackets). Returns
/// `std::nullopt` for a host name.
std::optional<boost::asio::ip::address> parse_ip_literal(std::string_view host);

/// True for an address webhooks may go to by default: not loopback, private, link-local,
/// shared, reserved, multicast or unspecified, in IPv4 or IPv6, including the IPv6 forms
/// that carry such an IPv4 address: IPv4-mapped, IPv4-compatible, NAT64 (64:ff9b::/96,
/// 64:ff9b:1::/48), 6to4 (2002::/16) and Teredo (2001::/32).
bool is_public(const boost::asio::ip::address& addr);

} // namespace rundun::net
