#include "net/url.hpp"

#include <algorithm>
#include <cctype>
#include <openssl/sha.h>

namespace rundun::net {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool valid_host_char(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '%';
}

bool printable_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return c > 0x20 && c < 0x7f; });
}

} // namespace

std::string url::authority() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return default_port() ? h : h + ":" + std::to_string(port);
}

std::string url::normalized() const {
  return scheme + "://" + authority() + target;
}

result<url> parse_url(std::string_view text) {
  constexpr std::size_t max_url_length = 2048;
  if (text.size() > max_url_length || !printable_ascii(text))
    return errc::url_malformed;
  auto colon = text.find("://");
  if (colon == std::string_view::npos)
    return errc::url_malformed;
  url u;
  u.scheme = lower(text.substr(0, colon));
  if (u.scheme != "http" && u.scheme != "https")
    return errc::url_scheme;
  auto rest = text.substr(colon + 3);
  if (rest.find('#') != std::string_view::npos)
    return errc::url_fragment;
  auto path_start = rest.find_first_of("/?");
  auto authority = rest.substr(0, path_start);
  u.target = path_start == std::string_view::npos ? "/" : std::string(rest.substr(path_start));
  if (u.target.front() == '?')
    u.target.insert(0, "/");
  if (authority.find('@') != std::string_view::npos)
    return errc::url_userinfo;
  std::string_view host = authority;
  std::string_view port;
  if (authority.starts_with('[')) {
    auto close = authority.find(']');
    if (close == std::string_view::npos)
      return errc::url_host;
    host = authority.substr(1, close - 1);
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':')
        return errc::url_host;
      port = after.substr(1);
    }
    if (host.empty() ||
        host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos)
      return errc::url_host;
  } else {
    auto c = authority.rfind(':');
    if (c != std::string_view::npos) {
      host = authority.substr(0, c);
      port = authority.substr(c + 1);
    }
    if (host.empty() || !std::all_of(host.begin(), host.end(), valid_host_char))
      return errc::url_host;
  }
  u.host = lower(host);
  if (port.empty()) {
    if (authority.ends_with(':'))
      return errc::url_port;
    u.port = u.tls() ? 443 : 80;
  } else {
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos)
      return errc::url_port;
    int p = std::stoi(std::string(port));
    if (p < 1 || p > 65535)
      return errc::url_port;
    u.port = static_cast<std::uint16_t>(p);
  }
  return u;
}

std::string endpoint_key(const url& u) {
  auto norm = u.normalized();
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(norm.data()), norm.size(), digest);
  static constexpr char hex[] = "0123456789abcdef";
  constexpr std::size_t key_bytes = 16;
  std::string out;
  for (std::size_t i = 0; i < key_bytes; ++i) {
    out.push_back(hex[digest[i] >> 4]);
    out.push_back(hex[digest[i] & 0xf]);
  }
  return out;
}

} // namespace rundun::net
