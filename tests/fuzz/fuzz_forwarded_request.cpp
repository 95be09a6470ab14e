// libFuzzer target: what a cluster peer sends, from bytes to the Beast message a node acts on.
// The first byte picks the direction: a forwarded request, held to the HTTP server's limits
// and turned into the router's request, or a peer's answer, checked and turned into the
// response for a client. Neither may throw, and what either lets through must be HTTP that
// Beast writes and reads back as the same message.
#include "api/forwarded_request.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include <boost/beast/http.hpp>
#include <boost/json.hpp>

namespace {

namespace http = boost::beast::http;
using namespace rundun;

/// A length with this bit set is a run: one byte, repeated.
constexpr std::size_t run_flag = 0x8000;
/// A run's length counts units of this many bytes, so that a few input bytes reach the
/// limits under test (64 KiB header values, 1 MiB bodies) within libFuzzer's input sizes.
constexpr std::size_t run_unit = 64;
/// Headers per message at most, so that an input is mostly names and values.
constexpr std::size_t max_fuzzed_headers = 64;

/// Reads the input as fields: a 2-byte big-endian length, then that many bytes, or a run (see
/// `run_flag`). A field cut short by the end of the input is what is left; past the end,
/// every field is empty.
class field_reader {
public:
  field_reader(const std::uint8_t* data, std::size_t size) : data_(data), left_(size) {}

  std::uint8_t byte() {
    if (left_ == 0)
      return 0;
    --left_;
    return *data_++;
  }

  std::size_t length() {
    std::size_t high = byte();
    return high << 8 | byte();
  }

  std::string field() {
    auto len = length();
    if (len & run_flag) {
      auto c = static_cast<char>(byte());
      return std::string((len & ~run_flag) * run_unit, c);
    }
    auto n = std::min(len, left_);
    std::string out(reinterpret_cast<const char*>(data_), n);
    data_ += n;
    left_ -= n;
    return out;
  }

  std::vector<std::pair<std::string, std::string>> headers() {
    std::vector<std::pair<std::string, std::string>> out(byte() % max_fuzzed_headers);
    for (auto& [name, value] : out) {
      name = field();
      value = field();
    }
    return out;
  }

private:
  const std::uint8_t* data_;
  std::size_t left_;
};

/// A property of the code under test does not hold: a crash for libFuzzer to keep.
void require(bool holds) {
  if (!holds)
    std::abort();
}

/// A refusal must be the contract's error: an HTTP error status and `{"error":{"code":…}}`.
void check_refusal(const cluster::forwarded_response& r) {
  require(r.status == 400 || r.status == 413 || r.status == 431);
  boost::system::error_code ec;
  auto v = boost::json::parse(r.body, ec);
  require(!ec && v.is_object());
  auto* e = v.as_object().if_contains("error");
  require(e && e->is_object() && e->as_object().if_contains("code") &&
          e->as_object().if_contains("message"));
}

/// Writes a message as Beast would put it on a socket, and parses it back: what the checks
/// let through must be one well-formed message with the same fields (no header smuggled in
/// through a CR or LF).
template <bool is_request>
void check_round_trip(const http::message<is_request, http::string_body>& m) {
  std::ostringstream wire;
  wire << m;
  auto text = wire.str();
  http::parser<is_request, http::string_body> p;
  p.header_limit(static_cast<std::uint32_t>(text.size()));
  p.body_limit(boost::none);
  p.eager(true);
  boost::system::error_code ec;
  p.put(boost::asio::buffer(text), ec);
  if (ec == http::error::need_more) // a message with no body ends at its header
    p.put_eof(ec);
  require(!ec && p.is_done());
  require(std::distance(p.get().begin(), p.get().end()) == std::distance(m.begin(), m.end()));
  require(p.get().body() == m.body());
}

void fuzz_request(field_reader& in) {
  cluster::forwarded_request f;
  f.method = in.field();
  f.target = in.field();
  f.headers = in.headers();
  f.body = in.field();
  auto body_size = f.body.size();
  auto converted = api::request_from_forwarded(std::move(f));
  if (auto* refused = std::get_if<cluster::forwarded_response>(&converted))
    return check_refusal(*refused);
  auto& req = std::get<net::http_request>(converted);
  require(req.body().size() == body_size && body_size <= api::max_photo_body);
  // The framing the sender's server had, so that the written message carries its body.
  req.content_length(req.body().size());
  check_round_trip(req);
}

void fuzz_answer(field_reader& in) {
  cluster::forwarded_response f;
  f.status = static_cast<unsigned>(in.length());
  f.headers = in.headers();
  f.body = in.field();
  bool valid = !api::answer_problem(f).has_value();
  auto converted = api::response_from_forwarded(std::move(f));
  auto* res = std::get_if<net::http_response>(&converted);
  require(valid == (res != nullptr));
  if (!res)
    return;
  // As net/http_server.cpp writes every response; it throws on what the checks must refuse.
  res->keep_alive(false);
  res->prepare_payload();
  check_round_trip(*res);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  field_reader in{data, size};
  if (in.byte() % 2 == 0)
    fuzz_request(in);
  else
    fuzz_answer(in);
  return 0;
}
