#include "api/forwarded_request.hpp"

#include "api/cluster_front.hpp"

#define BOOST_TEST_MODULE forwarded_request
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <string>
#include <utility>
#include <variant>
#include <vector>

using namespace rundun;
using namespace rundun::api;

namespace {

constexpr std::size_t kib = 1024;
constexpr std::size_t mib = 1024 * kib;
/// Beast throws on a field value of 64 KiB or more; a peer must not get that far.
constexpr std::size_t beast_field_limit = 64 * kib;

const std::string json_route = "/v1/runs/r-1/cancel";
const std::string photo_route = "/r/tok/steps/door/photos";

cluster::forwarded_request request(std::string method, std::string target,
                                   std::vector<std::pair<std::string, std::string>> headers = {},
                                   std::string body = {}) {
  return {std::move(method), std::move(target), std::move(headers), std::move(body)};
}

/// The refusal a conversion gave, or fails the test when it converted.
cluster::forwarded_response refusal(cluster::forwarded_request f) {
  auto converted = request_from_forwarded(std::move(f));
  auto* refused = std::get_if<cluster::forwarded_response>(&converted);
  BOOST_REQUIRE_MESSAGE(refused, "the request was converted, not refused");
  return std::move(*refused);
}

bool converts(cluster::forwarded_request f) {
  return std::holds_alternative<net::http_request>(request_from_forwarded(std::move(f)));
}

/// The `error` object of a refusal's body, which must be the contract's shape.
boost::json::object error_of(const std::string& body) {
  auto v = boost::json::parse(body);
  auto& e = v.as_object().at("error").as_object();
  BOOST_TEST(e.at("code").is_string());
  BOOST_TEST(e.at("message").is_string());
  return e;
}

std::string code_of(const cluster::forwarded_response& r) {
  return std::string(error_of(r.body).at("code").as_string());
}

std::string header(const cluster::forwarded_response& r, std::string_view name) {
  for (auto& [n, v] : r.headers)
    if (boost::beast::iequals(n, name))
      return v;
  return {};
}

/// A request whose header section, as the server counts it, is exactly `bytes` long.
cluster::forwarded_request request_with_header_bytes(std::size_t bytes) {
  // "GET /v1/runs/r-1 HTTP/1.1\r\n" + "X-Pad: " + value + "\r\n" + "\r\n"
  std::string target = "/v1/runs/r-1";
  std::size_t framing = (3 + 1 + target.size() + 11) + (5 + 2 + 2) + 2;
  return request("GET", target, {{"X-Pad", std::string(bytes - framing, 'a')}});
}

} // namespace

BOOST_AUTO_TEST_CASE(a_header_value_over_64_kib_is_refused_431_not_thrown) {
  auto f = request("GET", json_route, {{"X-Big", std::string(beast_field_limit + 1, 'a')}});
  cluster::forwarded_response r;
  BOOST_REQUIRE_NO_THROW(r = refusal(std::move(f)));
  BOOST_TEST(r.status == 431u);
  BOOST_TEST(code_of(r) == "headers_too_large");
  BOOST_TEST(std::string(error_of(r.body).at("message").as_string()) ==
             "the request headers are too large");
}

BOOST_AUTO_TEST_CASE(a_header_name_over_64_kib_is_refused_431_not_thrown) {
  auto f = request("GET", json_route, {{std::string(beast_field_limit + 1, 'x'), "v"}});
  BOOST_TEST(refusal(std::move(f)).status == 431u);
}

BOOST_AUTO_TEST_CASE(headers_are_held_to_the_servers_16_kib_as_it_counts_them) {
  BOOST_TEST(net::default_max_header_bytes == 16 * kib);
  BOOST_TEST(converts(request_with_header_bytes(net::default_max_header_bytes)));
  BOOST_TEST(refusal(request_with_header_bytes(net::default_max_header_bytes + 1)).status == 431u);
  // Many small headers add up just as one large one does.
  std::vector<std::pair<std::string, std::string>> many(3'000, {"X-A", "b"});
  BOOST_TEST(refusal(request("GET", json_route, many)).status == 431u);
}

BOOST_AUTO_TEST_CASE(a_target_over_the_header_limit_is_refused_431) {
  auto r = refusal(request("GET", "/v1/runs/" + std::string(net::default_max_header_bytes, 'r')));
  BOOST_TEST(r.status == 431u);
  BOOST_TEST(code_of(r) == "headers_too_large");
}

BOOST_AUTO_TEST_CASE(a_body_over_1_mib_on_a_json_route_is_refused_413) {
  BOOST_TEST(converts(request("POST", json_route, {}, std::string(mib, '{'))));
  auto r = refusal(request("POST", json_route, {}, std::string(mib + 1, '{')));
  BOOST_TEST(r.status == 413u);
  BOOST_TEST(code_of(r) == "body_too_large");
  BOOST_TEST(std::string(error_of(r.body).at("message").as_string()) ==
             "the request body is larger than 1048576 bytes");
}

BOOST_AUTO_TEST_CASE(a_photo_upload_may_carry_10_mib_and_no_more) {
  BOOST_TEST(converts(
      request("POST", photo_route, {{"Content-Type", "image/png"}}, std::string(10 * mib, 'p'))));
  auto r = refusal(request("POST", photo_route, {}, std::string(10 * mib + 1, 'p')));
  BOOST_TEST(r.status == 413u);
  BOOST_TEST(code_of(r) == "body_too_large");
  BOOST_TEST(std::string(error_of(r.body).at("message").as_string()) ==
             "the request body is larger than 10485760 bytes");
  // The photo limit is the upload route's only, as the server's rule has it.
  BOOST_TEST(refusal(request("POST", json_route, {}, std::string(2 * mib, 'p'))).status == 413u);
}

BOOST_AUTO_TEST_CASE(cr_lf_or_nul_in_a_header_value_is_refused_400) {
  for (auto& value : std::vector<std::string>{"a\r\nX-Injected: 1", "a\nb", "a\rb",
                                              std::string("a\0b", 3), "\x7f"}) {
    auto r = refusal(request("GET", json_route, {{"X-A", value}}));
    BOOST_TEST(r.status == 400u);
    BOOST_TEST(code_of(r) == "malformed_request");
  }
  BOOST_TEST(converts(request("GET", json_route, {{"X-A", "tab\tand space, é"}})));
}

BOOST_AUTO_TEST_CASE(a_header_name_that_is_not_a_token_is_refused_400) {
  for (auto& name : std::vector<std::string>{"", "X A", "X:A", "X\r\nA", "X(A)", "X\xc3\xa9"}) {
    auto r = refusal(request("GET", json_route, {{name, "v"}}));
    BOOST_TEST(r.status == 400u);
    BOOST_TEST(code_of(r) == "malformed_request");
  }
}

BOOST_AUTO_TEST_CASE(an_unknown_or_lower_case_method_is_refused_400) {
  for (auto& method : std::vector<std::string>{"FOO", "get", "", "GET /x", "G\r\nET",
                                               std::string(100 * kib, 'G')}) {
    auto r = refusal(request(method, json_route));
    BOOST_TEST(r.status == 400u);
    BOOST_TEST(code_of(r) == "malformed_request");
  }
}

BOOST_AUTO_TEST_CASE(a_target_must_start_with_a_slash_and_hold_no_space_or_control) {
  for (auto& target :
       std::vector<std::string>{"", "v1/runs", "*", "http://node/v1/runs", "/v1/runs x",
                                "/v1/runs\r\nX: 1", std::string("/a\0b", 4)}) {
    auto r = refusal(request("GET", target));
    BOOST_TEST(r.status == 400u);
    BOOST_TEST(code_of(r) == "malformed_request");
  }
}

BOOST_AUTO_TEST_CASE(a_refusal_reads_as_the_servers_own_answers) {
  auto r = refusal(request("FOO", json_route));
  BOOST_TEST(header(r, "Content-Type") == "application/json");
  BOOST_TEST(header(r, "Cache-Control") == "no-store");
  BOOST_TEST(std::string(error_of(r.body).at("message").as_string())
                 .starts_with("the request is not valid HTTP/1.1: "));
}

BOOST_AUTO_TEST_CASE(a_valid_request_converts_with_every_header_and_the_body) {
  std::vector<std::pair<std::string, std::string>> headers{{"Authorization", "Bearer k"},
                                                           {"Content-Type", "application/json"},
                                                           {"X-Custom", "one"},
                                                           {"X-Custom", "two"},
                                                           {"Accept", "*/*"}};
  auto converted = request_from_forwarded(
      request("POST", "/v1/runs/r-1/steps/door/answer?x=1", headers, R"({"value":1})"));
  auto* req = std::get_if<net::http_request>(&converted);
  BOOST_REQUIRE(req);
  BOOST_TEST(req->method() == boost::beast::http::verb::post);
  BOOST_TEST(req->target() == "/v1/runs/r-1/steps/door/answer?x=1");
  BOOST_TEST(req->version() == 11u);
  BOOST_TEST(req->body() == R"({"value":1})");
  std::vector<std::pair<std::string, std::string>> seen;
  for (auto& field : *req)
    seen.emplace_back(std::string(field.name_string()), std::string(field.value()));
  BOOST_TEST((seen == headers));
}

BOOST_AUTO_TEST_CASE(hop_by_hop_headers_from_a_peer_are_dropped) {
  auto converted = request_from_forwarded(request(
      "POST", json_route,
      {{"Content-Length", "999"}, {"Transfer-Encoding", "chunked"}, {"X-Kept", "yes"}}, "{}"));
  auto* req = std::get_if<net::http_request>(&converted);
  BOOST_REQUIRE(req);
  BOOST_TEST(std::distance(req->begin(), req->end()) == 1);
  BOOST_TEST((*req)["X-Kept"] == "yes");
}

BOOST_AUTO_TEST_CASE(a_request_survives_the_trip_to_its_owner) {
  net::http_request sent{boost::beast::http::verb::put, "/v1/runs/r-1", 11};
  sent.set("Authorization", "Bearer k");
  sent.set(boost::beast::http::field::connection, "keep-alive");
  sent.body() = "{}";
  sent.prepare_payload();
  auto converted = request_from_forwarded(to_forwarded(net::http_request(sent)));
  auto* req = std::get_if<net::http_request>(&converted);
  BOOST_REQUIRE(req);
  BOOST_TEST(req->method() == boost::beast::http::verb::put);
  BOOST_TEST((*req)["Authorization"] == "Bearer k");
  BOOST_TEST(req->count(boost::beast::http::field::connection) == 0u);
  BOOST_TEST(req->body() == "{}");
}

BOOST_AUTO_TEST_CASE(an_invalid_answer_from_a_peer_becomes_503_node_unavailable) {
  std::vector<cluster::forwarded_response> invalid{
      {42, {{"Content-Type", "application/json"}}, "{}"},
      {1000, {}, ""},
      {101, {{"Upgrade", "websocket"}}, ""},
      {200, {{"X-Split", "a\r\nSet-Cookie: s=1"}}, "{}"},
      {200, {{"Bad Name", "v"}}, "{}"},
      {200, {{"X-Big", std::string(beast_field_limit + 1, 'a')}}, "{}"},
      {204, {}, "a body where none may be"}};
  for (auto& answer : invalid) {
    BOOST_TEST(answer_problem(answer).has_value());
    net::http_response res;
    BOOST_REQUIRE_NO_THROW(res = cluster_front::answer_from_peer("n2", std::move(answer)));
    BOOST_TEST(res.result_int() == 503u);
    auto e = error_of(res.body());
    BOOST_TEST(e.at("code").as_string() == "node_unavailable");
    BOOST_TEST(std::string(e.at("message").as_string()).find("'n2'") != std::string::npos);
    BOOST_TEST(res[boost::beast::http::field::retry_after] == "2");
  }
}

BOOST_AUTO_TEST_CASE(an_invalid_answer_names_what_was_wrong) {
  BOOST_TEST(*answer_problem({42, {}, ""}) == "status 42 is not a final HTTP status (200-599)");
  BOOST_TEST(*answer_problem({200, {{"X-A", "a\r\nb"}}, ""}) ==
             "the value of header X-A holds a control character (CR, LF, NUL, …); only a tab is "
             "allowed");
  auto converted = response_from_forwarded({42, {}, ""});
  BOOST_TEST(std::holds_alternative<invalid_answer>(converted));
}

BOOST_AUTO_TEST_CASE(a_valid_answer_from_a_peer_goes_to_the_client_unchanged) {
  cluster::forwarded_response answer{
      201,
      {{"Content-Type", "application/json"}, {"Location", "/v1/runs/r-1"}, {"Content-Length", "7"}},
      R"({"a":1})"};
  auto res = cluster_front::answer_from_peer("n2", std::move(answer));
  BOOST_TEST(res.result_int() == 201u);
  BOOST_TEST(res[boost::beast::http::field::content_type] == "application/json");
  BOOST_TEST(res[boost::beast::http::field::location] == "/v1/runs/r-1");
  // The client's connection gets its own framing, not the peer's.
  BOOST_TEST(res.count(boost::beast::http::field::content_length) == 0u);
  BOOST_TEST(res.body() == R"({"a":1})");
  // Empty 204s and 304s are answers like any other.
  BOOST_TEST(!answer_problem({204, {}, ""}).has_value());
  BOOST_TEST(!answer_problem({599, {}, ""}).has_value());
}
