#include "net/url.hpp"

#include <algorithm>
#include <cctype>

#include <boost/url/parse.hpp>
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

bool hex(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) != 0;
}

/// Percent-encodes, after the authority, the printable characters RFC 3986 leaves out of a
/// path or query (`"<>\^`{|}`, brackets, and a `%` that starts no escape), as browsers do.
/// Earlier versions took such URLs as written; they keep working, sent encoded.
std::string encode_forbidden(std::string_view text) {
  auto scheme_end = text.find("://");
  auto path_start = scheme_end == text.npos ? text.npos : text.find_first_of("/?", scheme_end + 3);
  if (path_start == text.npos)
    return std::string(text);
  std::string out(text.substr(0, path_start));
  static constexpr char digits[] = "0123456789ABCDEF";
  for (std::size_t i = path_start; i < text.size(); ++i) {
    char c = text[i];
    bool lone_percent = c == '%' && !(i + 2 < text.size() && hex(text[i + 1]) && hex(text[i + 2]));
    if (std::string_view("\"<>\\^`{|}[]").find(c) != std::string_view::npos || lone_percent) {
      out += '%';
      out += digits[static_cast<unsigned char>(c) >> 4];
      out += digits[static_cast<unsigned char>(c) & 15];
    } else {
      out += c;
    }
  }
  return out;
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
  // RFC 3986 is Boost.URL's; what a webhook URL may be beyond that is ours.
  auto encoded = encode_forbidden(text);
  auto parsed = boost::urls::parse_uri(encoded);
  if (!parsed || !parsed->has_authority())
    return errc::url_malformed;
  auto& v = *parsed;
  url u;
  u.scheme = lower(v.scheme());
  if (u.scheme != "http" && u.scheme != "https")
    return errc::url_scheme;
  if (v.has_fragment())
    return errc::url_fragment;
  if (v.has_userinfo())
    return errc::url_userinfo;
  switch (v.host_type()) {
  case boost::urls::host_type::ipv6:
    u.host = lower(v.encoded_host_address());
    break;
  case boost::urls::host_type::ipv4:
  case boost::urls::host_type::name: {
    // A name as DNS has them. Odd IPv4 spellings (`127.1`, `0x7f.1`, `2130706433`) are
    // names to RFC 3986; the destination guard reads them as the addresses they are.
    auto host = v.encoded_host();
    if (host.empty() || !std::all_of(host.begin(), host.end(), valid_host_char))
      return errc::url_host;
    u.host = lower(host);
    break;
  }
  default: // none, or an IPvFuture literal
    return errc::url_host;
  }
  // Boost.URL 1.81 takes `h:8x/` as port 8 and path `x/`; RFC 3986 wants a path after an
  // authority to be empty or start with `/`.
  if (!v.encoded_path().empty() && !v.encoded_path().starts_with('/'))
    return v.has_port() ? errc::url_port : errc::url_malformed;
  if (!v.has_port()) {
    u.port = u.tls() ? 443 : 80;
  } else {
    auto port = v.port();
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != port.npos)
      return errc::url_port;
    int p = std::stoi(std::string(port));
    if (p < 1 || p > 65535)
      return errc::url_port;
    u.port = static_cast<std::uint16_t>(p);
  }
  u.target = v.encoded_path().empty() ? "/" : std::string(v.encoded_path());
  if (v.has_query())
    u.target += "?" + std::string(v.encoded_query());
  // The bound holds for what is stored and sent, after the encoding.
  if (u.normalized().size() > max_url_length)
    return errc::url_malformed;
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
