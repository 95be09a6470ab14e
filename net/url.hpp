#pragma once

#include "net/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace rundun::net {

/// An absolute http or https URL, as webhook destinations are given.
struct url {
  std::string scheme; ///< `http` or `https`, lowercased
  std::string host;   ///< lowercased; an IPv6 literal without its brackets
  std::uint16_t port = 0;
  std::string target; ///< path and query, at least `/`

  bool tls() const { return scheme == "https"; }
  bool default_port() const { return port == (tls() ? 443 : 80); }
  /// The `Host` header value: the host, bracketed if IPv6, with the port unless default.
  std::string authority() const;
  /// The normalised form that names an endpoint: scheme and host lowercased, default port
  /// dropped.
  std::string normalized() const;
};

/// Parses an absolute http(s) URL. Errors are `errc::url_*`; their messages complete a
/// sentence that starts with the field name ("webhook.url must …").
result<url> parse_url(std::string_view text);

/// The key of an endpoint in the store: 32 hex digits of SHA-256 over the normalised URL.
std::string endpoint_key(const url& u);

} // namespace rundun::net
