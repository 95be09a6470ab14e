#include "tests/support/http_call.hpp"

#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

namespace rundun::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

boost::json::value http_result::json() const {
  return boost::json::parse(body);
}

std::string http_result::error_code() const {
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  if (ec || !v.is_object())
    return "";
  auto* e = v.as_object().if_contains("error");
  if (!e || !e->is_object() || !e->as_object().contains("code"))
    return "";
  return std::string(e->as_object().at("code").as_string());
}

http_result http_call(std::uint16_t port, const std::string& method, const std::string& target,
                      const std::string& body, const std::map<std::string, std::string>& headers) {
  asio::io_context io;
  beast::tcp_stream stream{io};
  stream.expires_after(std::chrono::seconds(30));
  stream.connect(tcp::endpoint{asio::ip::make_address("127.0.0.1"), port});
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "127.0.0.1");
  for (auto& [k, v] : headers)
    req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  // A server may answer (413) and close before it has read the whole body: the write then
  // fails, and the answer is still there to read.
  beast::error_code write_ec;
  http::write(stream, req, write_ec);
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  http::read(stream, buf, parser);
  auto& res = parser.get();
  http_result out;
  out.status = static_cast<int>(res.result_int());
  out.body = res.body();
  out.headers = header_map(res);
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  return out;
}

http_result api_client::get(const std::string& target) const {
  return http_call(port, "GET", target, {}, {{"Authorization", "Bearer " + key}});
}

http_result api_client::post(const std::string& target, const std::string& body) const {
  return http_call(port, "POST", target, body,
                   {{"Authorization", "Bearer " + key}, {"Content-Type", "application/json"}});
}

http_result api_client::post_json(const std::string& target, const boost::json::value& body) const {
  return post(target, boost::json::serialize(body));
}

std::string api_client::make_template(const boost::json::value& body) const {
  auto r = post_json("/v1/templates", body);
  if (r.status != 201)
    throw std::runtime_error("template not created: " + std::to_string(r.status) + " " + r.body);
  return std::string(r.json().at("id").as_string());
}

boost::json::object api_client::make_run(const boost::json::value& body) const {
  auto r = post_json("/v1/runs", body);
  if (r.status != 201)
    throw std::runtime_error("run not created: " + std::to_string(r.status) + " " + r.body);
  return r.json().as_object();
}

std::string link_path(const std::string& link) {
  auto at = link.find("/r/");
  return at == std::string::npos ? link : link.substr(at);
}

bool every_member_reachable(const http_result& cluster_answer) {
  if (cluster_answer.status != 200)
    return false;
  auto doc = cluster_answer.json();
  for (auto& m : doc.at("members").as_array())
    if (!m.at("reachable").as_bool())
      return false;
  return true;
}

std::uint16_t free_port() {
  asio::io_context io;
  tcp::acceptor a{io, {asio::ip::make_address("127.0.0.1"), 0}};
  return a.local_endpoint().port();
}

} // namespace rundun::test
