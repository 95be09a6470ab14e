#include "net/error.hpp"

namespace rundun::net {

namespace {

class category_impl : public boost::system::error_category {
public:
  const char* name() const noexcept override { return "rundun.net"; }

  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
    case errc::url_malformed:
      return "must be an absolute http or https URL";
    case errc::url_scheme:
      return "must use the http or https scheme";
    case errc::url_host:
      return "must have a valid host";
    case errc::url_port:
      return "must have a port between 1 and 65535";
    case errc::url_userinfo:
      return "must not contain user information";
    case errc::url_fragment:
      return "must not contain a fragment";
    case errc::duration_malformed:
      return "must be a whole number followed by ms, s, m or h";
    case errc::schedule_empty:
      return "must list at least one delay";
    case errc::timeout:
      return "timeout";
    case errc::response_too_large:
      return "response too large";
    case errc::dns_not_found:
      return "host not found";
    case errc::dns_no_address:
      return "no IPv4 or IPv6 address for the host";
    case errc::dns_timeout:
      return "no DNS answer before the deadline";
    case errc::dns_no_answer:
      return "the name servers did not answer";
    case errc::dns_server_failure:
      return "the name server failed or refused";
    case errc::dns_failed:
      return "DNS lookup failed";
    case errc::dns_busy:
      return "too many host names being looked up at once";
    case errc::dns_servers:
      return "name servers must be a comma-separated list of ip:port";
    case errc::dns_setup:
      return "cannot start the DNS resolver";
    // The proxy's messages never quote the URL: it may carry a password.
    case errc::proxy_malformed:
      return "must be an HTTP proxy URL like http://[user:password@]host:port";
    case errc::proxy_scheme:
      return "must use the http scheme (http://[user:password@]host:port); https and SOCKS "
             "proxies are not supported (TLS to an https endpoint runs inside the tunnel)";
    case errc::proxy_host:
      return "must have a valid host (http://[user:password@]host:port)";
    case errc::proxy_port:
      return "must name a port between 1 and 65535 (http://[user:password@]host:port)";
    case errc::proxy_path:
      return "must have no path, query or fragment (http://[user:password@]host:port)";
    case errc::proxy_credentials:
      return "must have a user name without ':' and no control characters in the user name or "
             "password (percent-decoded)";
    }
    return "unknown net error";
  }
};

} // namespace

const boost::system::error_category& category() {
  static const category_impl instance;
  return instance;
}

boost::system::error_code make_error_code(errc e) {
  return {static_cast<int>(e), category()};
}

} // namespace rundun::net
