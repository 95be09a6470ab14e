#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <boost/json/value.hpp>

namespace rundun::test {

/// A response as the tests look at it.
struct http_result {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers; ///< names lowercased
  boost::json::value json() const;
  std::string error_code() const; ///< `error.code` of an error body, or ""
};

/// The fields of a Beast message as a map with lowercased names.
template <class Fields>
std::map<std::string, std::string> header_map(const Fields& fields) {
  std::map<std::string, std::string> out;
  for (auto& f : fields) {
    std::string name(f.name_string());
    for (auto& c : name)
      c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    out[name] = std::string(f.value());
  }
  return out;
}

/// One blocking HTTP/1.1 request to 127.0.0.1:`port` on a fresh connection.
http_result http_call(std::uint16_t port, const std::string& method, const std::string& target,
                      const std::string& body = {},
                      const std::map<std::string, std::string>& headers = {});

/// The API of one running server, with its key.
struct api_client {
  std::uint16_t port = 0;
  std::string key;

  http_result get(const std::string& target) const;
  http_result post(const std::string& target, const std::string& body = {}) const;
  http_result post_json(const std::string& target, const boost::json::value& body) const;

  /// Creates a template from `body` and returns its id (the test fails if it cannot).
  std::string make_template(const boost::json::value& body) const;
  /// Dispatches a run; returns the 201 body.
  boost::json::object make_run(const boost::json::value& body) const;
};

/// Whether a `GET /v1/cluster` answer shows every member reachable.
bool every_member_reachable(const http_result& cluster_answer);

/// A port on 127.0.0.1 that was free a moment ago (for a cluster's member list, which is
/// fixed before any node starts).
std::uint16_t free_port();

/// The path of a run link (`/r/<token>`) from its full URL.
std::string link_path(const std::string& link);

} // namespace rundun::test
