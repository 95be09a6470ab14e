#include "net/proxy_tunnel.hpp"

#include <memory>

#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

namespace rundun::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;

namespace {

/// The most a proxy's answer to CONNECT may take: a status line and a few headers.
constexpr std::uint32_t max_connect_response_head = 8 << 10;

/// One CONNECT: write the request, read the status line and headers, judge them.
class tunnel_handshake : public std::enable_shared_from_this<tunnel_handshake> {
public:
  tunnel_handshake(strand_socket& socket, beast::flat_buffer& buffer, std::string request,
                   std::function<void(tunnel_outcome)> done)
      : socket_(socket), buffer_(buffer), request_(std::move(request)), done_(std::move(done)) {
    // A 2xx to CONNECT has no body whatever its headers say (RFC 9110 §9.3.6), and after any
    // other answer the connection is closed with its body unread: only the head is read.
    parser_.skip(true);
    parser_.header_limit(max_connect_response_head);
  }

  void start() {
    asio::async_write(socket_, asio::buffer(request_),
                      beast::bind_front_handler(&tunnel_handshake::on_write, shared_from_this()));
  }

private:
  void on_write(error_code ec, std::size_t) {
    if (ec)
      return finish("proxy: write: " + ec.message());
    http::async_read(socket_, buffer_, parser_,
                     beast::bind_front_handler(&tunnel_handshake::on_read, shared_from_this()));
  }

  void on_read(error_code ec, std::size_t) {
    // The proxy hung up instead of answering: a proxy that drops what it will not tunnel.
    if (ec == http::error::end_of_stream || ec == asio::error::eof)
      return finish("proxy: closed the connection without answering CONNECT");
    // Beast's parser refused the answer: not HTTP, or a head over the limit.
    if (ec.category() == http::make_error_code(http::error::bad_version).category())
      return finish("proxy: bad answer to CONNECT: " + ec.message());
    if (ec)
      return finish("proxy: " + ec.message());
    auto status = parser_.get().result_int();
    if (status / 100 != 2)
      return finish("proxy: CONNECT refused with " + std::to_string(status));
    // Nothing may come from the endpoint before the client has spoken (a TLS ClientHello, or
    // the request): bytes here would be taken for the endpoint's answer.
    if (buffer_.size() != 0)
      return finish("proxy: bytes after the answer to CONNECT, before the request");
    finish({});
  }

  void finish(std::string error) { done_(tunnel_outcome{std::move(error)}); }

  strand_socket& socket_;
  beast::flat_buffer& buffer_;
  std::string request_;
  http::response_parser<http::empty_body> parser_;
  std::function<void(tunnel_outcome)> done_;
};

} // namespace

void open_tunnel(strand_socket& socket, beast::flat_buffer& buffer, std::string request,
                 std::function<void(tunnel_outcome)> done) {
  std::make_shared<tunnel_handshake>(socket, buffer, std::move(request), std::move(done))->start();
}

} // namespace rundun::net
