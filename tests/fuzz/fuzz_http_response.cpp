// libFuzzer target: parsing a receiver's HTTP response the way the delivery client does.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace http = boost::beast::http;
  http::response_parser<http::string_body> parser;
  parser.body_limit(1 << 20); // as net/http_client.cpp
  parser.eager(true);
  boost::beast::error_code ec;
  std::size_t used = 0;
  // Feed in two pieces, as a socket would.
  auto first = size / 2;
  used += parser.put(boost::asio::buffer(data, first), ec);
  if (!ec || ec == http::error::need_more)
    parser.put(boost::asio::buffer(data + used, size - used), ec);
  if (!ec && parser.is_header_done()) {
    auto& res = parser.get();
    (void)res.result_int();
    (void)res.keep_alive();
    (void)res.find(http::field::retry_after);
  }
  return 0;
}
