#include "bench_http_driver.hpp"

#include <cstdio>
#include <memory>
#include <optional>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/read.hpp>

// The driver is part of the load tool, whose CPU is measured beside rundund's: it writes
// each request as plain bytes and keeps only the status of each answer, on a plain socket.

namespace rundun::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

/// An answer above this is refused by the parser (an answer carries one run's record).
constexpr std::uint64_t max_answer_bytes = 1 << 20;

/// Beast's response parser, keeping only the status: the body is read and dropped.
class status_parser : public http::basic_parser<false> {
public:
  status_parser() { body_limit(max_answer_bytes); }
  int status() const { return status_; }

private:
  void on_request_impl(http::verb, beast::string_view, beast::string_view, int,
                       beast::error_code&) override {}
  void on_response_impl(int code, beast::string_view, int, beast::error_code&) override {
    status_ = code;
  }
  void on_field_impl(http::field, beast::string_view, beast::string_view,
                     beast::error_code&) override {}
  void on_header_impl(beast::error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, beast::error_code&) override {}
  std::size_t on_body_impl(beast::string_view piece, beast::error_code&) override {
    return piece.size();
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, beast::error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view piece,
                                 beast::error_code&) override {
    return piece.size();
  }
  void on_finish_impl(beast::error_code&) override {}

  int status_ = 0;
};

/// What the connections share. They all run on the driver's one thread.
struct driver_state {
  const std::vector<job>& jobs;
  pacer& pace;
  std::size_t next = 0;
  std::size_t failed = 0;
};

/// One keep-alive connection: takes the next job, POSTs its answer, reads the response,
/// and goes on until the jobs run out.
class driver_connection : public std::enable_shared_from_this<driver_connection> {
public:
  driver_connection(asio::io_context& io, driver_state& st) : socket_(io), timer_(io), st_(st) {}

  void start(std::uint16_t port) {
    socket_.connect({asio::ip::make_address("127.0.0.1"), port});
    socket_.set_option(tcp::no_delay{true});
    next();
  }

private:
  void next() {
    auto i = st_.next++;
    if (i >= st_.jobs.size())
      return; // done: the connection closes when the last reference goes
    st_.pace.issued++;
    if (!st_.pace.paced())
      return send(st_.jobs[i]);
    timer_.expires_at(st_.pace.due(i));
    timer_.async_wait(
        [self = shared_from_this(), i](beast::error_code) { self->send(self->st_.jobs[i]); });
  }

  void send(const job& j) {
    constexpr std::string_view answer = R"({"value":1})";
    request_.clear();
    request_.append("POST /r/").append(j.token).append("/steps/s").append(std::to_string(j.step));
    request_.append("/answer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ")
        .append(std::to_string(answer.size()))
        .append("\r\n\r\n")
        .append(answer);
    asio::async_write(socket_, asio::buffer(request_),
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec)
                          return self->fail();
                        self->read();
                      });
  }

  void read() {
    parser_.emplace();
    http::async_read(socket_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec)
                         return self->fail();
                       if (self->parser_->status() != 200)
                         ++self->st_.failed;
                       self->next();
                     });
  }

  void fail() { ++st_.failed; }

  tcp::socket socket_;
  asio::steady_timer timer_;
  driver_state& st_;
  std::string request_;
  beast::flat_buffer buffer_;
  std::optional<status_parser> parser_;
};

} // namespace

std::chrono::steady_clock::time_point drive_http(std::uint16_t port, const std::vector<job>& jobs,
                                                 std::size_t connections, pacer& pace) {
  asio::io_context io{1};
  driver_state st{jobs, pace};
  for (std::size_t c = 0; c < connections; ++c)
    std::make_shared<driver_connection>(io, st)->start(port);
  io.run(); // returns when every connection has run out of jobs
  if (st.failed)
    std::fprintf(stderr, "warning: %zu requests failed\n", st.failed);
  return std::chrono::steady_clock::now();
}

} // namespace rundun::bench
