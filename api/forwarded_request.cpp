#include "api/forwarded_request.hpp"

#include "api/error_response.hpp"

#include <exception>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/verb.hpp>

namespace rundun::api {

namespace http = boost::beast::http;

namespace {

/// The version of every message a node builds; HTTP/1.1 is all the server speaks.
constexpr unsigned http_1_1 = 11;

// The framing around the parts of a header section, counted as Beast's header limit counts
// the bytes a direct client sends.
constexpr std::string_view method_separator = " ";
constexpr std::string_view request_line_tail = " HTTP/1.1\r\n";
constexpr std::string_view status_line = "HTTP/1.1 000 \r\n";
constexpr std::string_view field_separator = ": ";
constexpr std::string_view line_end = "\r\n";

constexpr unsigned lowest_final_status = 200;
constexpr unsigned highest_status = 599;

/// Headers that describe one connection, not the message: each hop sets its own.
bool hop_by_hop(std::string_view name) {
  for (std::string_view h : {"connection", "keep-alive", "transfer-encoding", "content-length",
                             "te", "trailer", "upgrade", "proxy-connection"})
    if (boost::beast::iequals(name, h))
      return true;
  return false;
}

template <class Message>
std::vector<std::pair<std::string, std::string>> end_to_end_headers(const Message& m) {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& field : m)
    if (!hop_by_hop(field.name_string()))
      out.emplace_back(std::string(field.name_string()), std::string(field.value()));
  return out;
}

/// RFC 9110 §5.6.2: tchar, the characters of a method or a header name.
bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
    return true;
  return std::string_view{"!#$%&'*+-.^_`|~"}.find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  if (s.empty())
    return false;
  for (char c : s)
    if (!is_token_char(c))
      return false;
  return true;
}

constexpr unsigned char first_printable = 0x21; // after the space
constexpr unsigned char delete_char = 0x7f;

/// A header value as Beast's parser takes it from a client: no control character but a tab
/// (CR and LF would end the line early, and NUL ends C strings), obs-text allowed.
bool is_field_value(std::string_view s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c != '\t' && c != ' ' && (u < first_printable || u == delete_char))
      return false;
  }
  return true;
}

/// An origin-form target as the parser takes it: '/' first, then no space and no control
/// character. The router only routes paths; the sender forwards nothing else.
bool is_origin_target(std::string_view s) {
  if (s.empty() || s.front() != '/')
    return false;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < first_printable || u == delete_char)
      return false;
  }
  return true;
}

/// Whether the fields are well formed (token names, clean values); their size is checked
/// apart, before this reads them.
std::optional<std::string>
field_problem(const std::vector<std::pair<std::string, std::string>>& headers) {
  for (auto& [name, value] : headers) {
    if (!is_token(name))
      return "a header name must be a non-empty token (letters, digits, !#$%&'*+-.^_`|~)";
    if (!is_field_value(value))
      return "the value of header " + name +
             " holds a control character (CR, LF, NUL, …); only a tab is allowed";
  }
  return std::nullopt;
}

/// The bytes of a header section that starts with a `first_line` as long as that: then
/// `name: value` CRLF for each field, then the blank line. Stops counting once over `limit`,
/// so that nothing a peer sends can overflow the sum.
std::size_t header_section_bytes(std::size_t first_line,
                                 const std::vector<std::pair<std::string, std::string>>& headers,
                                 std::size_t limit) {
  auto total = first_line + line_end.size();
  for (auto& [name, value] : headers) {
    if (total > limit)
      break;
    total += name.size() + field_separator.size() + value.size() + line_end.size();
  }
  return total;
}

/// One of the HTTP server's own answers (net/http_server.hpp), as the server's
/// error_response builds it.
cluster::forwarded_response refuse(const net::server_refusal& r, std::string_view message) {
  return to_forwarded(make_error_response(r.status, r.code, message));
}

/// The server's `400 malformed_request`, its message followed by what was wrong: the server
/// cannot say more about bytes it cannot parse, but here each part is known.
cluster::forwarded_response malformed(std::string_view what) {
  return refuse(net::malformed_request,
                std::string(net::malformed_request.message) + ": " + std::string(what));
}

/// The refusal of a forwarded request, in the order the server meets the same faults on a
/// socket: the request line, the header section's size, the fields, then the body.
std::optional<cluster::forwarded_response> refusal_of(const cluster::forwarded_request& f) {
  // Beast knows every registered method; an unknown one (or a lower-case "get", since methods
  // are case-sensitive) is nothing the sender's server would have routed here.
  if (http::string_to_verb(f.method) == http::verb::unknown)
    return malformed("the method must be a known HTTP method, in capitals");
  auto limit = net::default_max_header_bytes;
  auto line =
      f.method.size() + method_separator.size() + f.target.size() + request_line_tail.size();
  if (line > limit)
    return refuse(net::headers_too_large, net::headers_too_large.message);
  if (!is_origin_target(f.target))
    return malformed("the target must start with '/' and hold no space or control character");
  if (header_section_bytes(line, f.headers, limit) > limit)
    return refuse(net::headers_too_large, net::headers_too_large.message);
  if (auto why = field_problem(f.headers))
    return malformed(*why);
  if (auto body_limit = request_body_limit(f.target); f.body.size() > body_limit)
    return refuse(net::body_too_large, net::body_too_large_message(body_limit));
  return std::nullopt;
}

} // namespace

forwarded_request_result request_from_forwarded(cluster::forwarded_request&& f) {
  try {
    if (auto refused = refusal_of(f))
      return std::move(*refused);
    net::http_request req;
    req.method_string(f.method);
    req.target(f.target);
    req.version(http_1_1);
    for (auto& [name, value] : f.headers)
      if (!hop_by_hop(name))
        req.insert(name, value);
    req.body() = std::move(f.body);
    return req;
  } catch (const std::exception&) {
    // The checks above leave Beast nothing it throws on (a field of 64 KiB or more is
    // refused as too large first); this is the last line, so that a case they miss is one
    // refused request, not a node taken down with its io threads.
    return malformed("the request could not be read");
  }
}

std::optional<std::string> answer_problem(const cluster::forwarded_response& f) {
  if (f.status < lowest_final_status || f.status > highest_status)
    return "status " + std::to_string(f.status) + " is not a final HTTP status (200-599)";
  // The server's prepare_payload() throws on a body with these, on its connection's strand.
  auto status = static_cast<http::status>(f.status);
  if ((status == http::status::no_content || status == http::status::not_modified) &&
      !f.body.empty())
    return "status " + std::to_string(f.status) + " comes with a body";
  if (header_section_bytes(status_line.size(), f.headers, max_answer_header_bytes) >
      max_answer_header_bytes)
    return "the headers are larger than " + std::to_string(max_answer_header_bytes) + " bytes";
  if (auto why = field_problem(f.headers))
    return why;
  if (f.body.size() > max_answer_body)
    return "the body is larger than " + std::to_string(max_answer_body) + " bytes";
  return std::nullopt;
}

std::variant<net::http_response, invalid_answer>
response_from_forwarded(cluster::forwarded_response&& f) {
  try {
    if (auto why = answer_problem(f))
      return invalid_answer{std::move(*why)};
    net::http_response res{static_cast<http::status>(f.status), http_1_1};
    for (auto& [name, value] : f.headers)
      if (!hop_by_hop(name))
        res.insert(name, value);
    res.body() = std::move(f.body);
    return res;
  } catch (const std::exception&) {
    // As for a request: the last line, should the checks ever miss what Beast throws on.
    return invalid_answer{"the answer could not be read"};
  }
}

cluster::forwarded_request to_forwarded(net::http_request&& req) {
  return {std::string(req.method_string()), std::string(req.target()), end_to_end_headers(req),
          std::move(req.body())};
}

cluster::forwarded_response to_forwarded(net::http_response&& res) {
  return {res.result_int(), end_to_end_headers(res), std::move(res.body())};
}

} // namespace rundun::api
