#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

namespace rundun::net {

/// Failures of the net layer, in the error category `"rundun.net"`.
enum class errc {
  url_malformed = 1,  ///< not an absolute URL
  url_scheme,         ///< a scheme other than http or https
  url_host,           ///< empty or malformed host
  url_port,           ///< port not in 1..65535
  url_userinfo,       ///< user:password@ is not allowed in webhook URLs
  url_fragment,       ///< #fragment is not allowed in webhook URLs
  duration_malformed, ///< not a number followed by ms, s, m or h
  schedule_empty,     ///< a retry schedule with no delay
  timeout,            ///< the attempt ran past the delivery timeout
  response_too_large, ///< the receiver's response exceeded what the client reads
  dns_not_found,      ///< the name does not exist (NXDOMAIN)
  dns_no_address,     ///< the name exists but has no A or AAAA record
  dns_timeout,        ///< no answer before the lookup's deadline
  dns_no_answer,      ///< the name servers did not answer or could not be reached
  dns_server_failure, ///< a name server failed, refused or answered garbage
  dns_failed,         ///< any other failed lookup
  dns_busy,           ///< too many names being looked up at once
  dns_servers,        ///< name servers not in the `ip:port,ip:port` form
  dns_setup,          ///< the resolver could not start
  proxy_malformed,    ///< an egress proxy that is not an absolute URL
  proxy_scheme,       ///< an egress proxy with a scheme other than http
  proxy_host,         ///< an egress proxy with an empty or malformed host
  proxy_port,         ///< an egress proxy without a port in 1..65535
  proxy_path,         ///< an egress proxy URL with a path, query or fragment
  proxy_credentials,  ///< egress proxy credentials that cannot go into a Basic header
};

const boost::system::error_category& category();
boost::system::error_code make_error_code(errc e);

template <class T>
using result = boost::system::result<T>;

} // namespace rundun::net

template <>
struct boost::system::is_error_code_enum<rundun::net::errc> : std::true_type {};
