#include "net/egress_proxy.hpp"

#include "net/base64.hpp"
#include "net/envelope.hpp"

#include <algorithm>
#include <cctype>

#include <boost/url/parse.hpp>

namespace rundun::net {

namespace {

/// The longest proxy URL taken, as for webhook URLs.
constexpr std::size_t max_proxy_url_length = 2048;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool printable_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return c > 0x20 && c < 0x7f; });
}

bool valid_host_char(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '.' || c == '_';
}

/// RFC 7617 allows no control character in a Basic credential.
bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

/// `host:port`, the host in brackets when it is an IPv6 address.
std::string authority(std::string_view host, std::uint16_t port) {
  std::string out;
  if (host.find(':') != std::string_view::npos)
    out.append("[").append(host).append("]");
  else
    out.append(host);
  return out.append(":").append(std::to_string(port));
}

} // namespace

std::string egress_proxy::redacted() const {
  return "http://" + authority(host, port);
}

result<egress_proxy> parse_egress_proxy(std::string_view text) {
  if (text.size() > max_proxy_url_length || !printable_ascii(text))
    return errc::proxy_malformed;
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed || !parsed->has_authority())
    return errc::proxy_malformed;
  auto& v = *parsed;
  if (lower(v.scheme()) != "http")
    return errc::proxy_scheme;
  if (v.has_query() || v.has_fragment() || (!v.encoded_path().empty() && v.encoded_path() != "/"))
    return errc::proxy_path;
  egress_proxy p;
  switch (v.host_type()) {
  case boost::urls::host_type::ipv6:
    p.host = lower(v.encoded_host_address());
    break;
  case boost::urls::host_type::ipv4:
  case boost::urls::host_type::name: {
    auto host = v.encoded_host();
    if (host.empty() || !std::all_of(host.begin(), host.end(), valid_host_char))
      return errc::proxy_host;
    p.host = lower(host);
    break;
  }
  default: // none, or an IPvFuture literal
    return errc::proxy_host;
  }
  // No default port: proxies listen on 3128, 8080 or whatever their operator chose, and a
  // guessed one would fail each delivery instead of the start.
  auto port = v.port();
  if (!v.has_port() || port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != port.npos)
    return errc::proxy_port;
  int number = std::stoi(std::string(port));
  if (number < 1 || number > 65535)
    return errc::proxy_port;
  p.port = static_cast<std::uint16_t>(number);
  if (v.has_userinfo()) {
    // Boost.URL percent-decodes both: `p%40ss` is the password `p@ss`.
    auto user = v.user();
    auto password = v.password();
    if (user.find(':') != std::string::npos || has_control(user) || has_control(password))
      return errc::proxy_credentials;
    p.authorization = "Basic " + base64_encode(user + ":" + password);
  }
  return p;
}

std::string connect_request(const egress_proxy& proxy, const boost::asio::ip::address& address,
                            std::uint16_t port) {
  // The target is the checked address, never the endpoint's name: the proxy must not look
  // the name up again, or a changed DNS answer would slip past the destination guard.
  auto target = authority(address.to_string(), port);
  std::string out = "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n";
  if (!proxy.authorization.empty())
    out += "Proxy-Authorization: " + proxy.authorization + "\r\n";
  out += "user-agent: " + user_agent() + "\r\n\r\n";
  return out;
}

} // namespace rundun::net
