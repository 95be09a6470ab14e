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
};

const boost::system::error_category& category();
boost::system::error_code make_error_code(errc e);

template <class T>
using result = boost::system::result<T>;

} // namespace rundun::net

template <>
struct boost::system::is_error_code_enum<rundun::net::errc> : std::true_type {};
