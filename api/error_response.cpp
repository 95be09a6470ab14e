#include "api/error_response.hpp"

#include "api/views.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/json/serialize.hpp>

namespace rundun::api {

namespace http = boost::beast::http;

net::http_response make_error_response(unsigned status, std::string_view code,
                                       std::string_view message) {
  net::http_response res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.body() = boost::json::serialize(error_body(code, message));
  return res;
}

} // namespace rundun::api
