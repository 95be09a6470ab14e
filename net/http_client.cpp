#include "net/http_client.hpp"

#include "net/error.hpp"

#include <atomic>
#include <deque>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace rundun::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

using steady = std::chrono::steady_clock;

/// The most of a receiver's response body that is read; receivers answer with little.
constexpr std::uint64_t max_response_body = 1 << 20;

/// A keep-alive connection with its read buffer.
struct connection {
  explicit connection(asio::any_io_executor ex) : stream(ex) {}
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
};

class endpoint_client_impl;

/// One POST: resolve and connect (unless a kept-alive connection is free), write, read.
class exchange : public std::enable_shared_from_this<exchange> {
public:
  exchange(std::shared_ptr<endpoint_client_impl> owner, outgoing_request req,
           endpoint_client::completion done);

  void start();

private:
  void use_connection(std::unique_ptr<connection> c, bool reused);
  void do_resolve();
  void on_resolve(error_code ec, tcp::resolver::results_type results);
  void on_connect(error_code ec, const tcp::endpoint&);
  void do_write();
  void on_write(error_code ec, std::size_t);
  void on_read(error_code ec, std::size_t);
  void fail(failure_kind kind, std::string what);
  void finish(attempt_response r);
  std::chrono::milliseconds remaining() const;

  std::shared_ptr<endpoint_client_impl> owner_;
  http::request<http::string_body> request_;
  std::optional<http::response_parser<http::string_body>> parser_;
  endpoint_client::completion done_;
  std::unique_ptr<connection> conn_;
  bool reused_ = false;
  bool retried_ = false;
  tcp::resolver resolver_;
  asio::steady_timer resolve_deadline_;
  steady::time_point started_;
  steady::time_point deadline_;
};

class endpoint_client_impl final : public endpoint_client {
public:
  endpoint_client_impl(asio::io_context& io, url target, client_options opts)
      : strand_(asio::make_strand(io)), target_(std::move(target)), opts_(opts) {}

  void post(outgoing_request req, completion done) override {
    auto self = std::static_pointer_cast<endpoint_client_impl>(shared_from_this());
    asio::post(strand_, [self, req = std::move(req), done = std::move(done)]() mutable {
      std::make_shared<exchange>(self, std::move(req), std::move(done))->start();
    });
  }

  void close_idle() override {
    auto self = shared_from_this();
    asio::post(strand_, [this, self] {
      open_ -= idle_.size();
      idle_.clear();
    });
  }

  std::size_t open_connections() const override { return open_.load(); }

  // -- used by exchanges, on the strand --

  std::unique_ptr<connection> take_idle() {
    if (idle_.empty())
      return nullptr;
    auto c = std::move(idle_.back());
    idle_.pop_back();
    return c;
  }

  std::unique_ptr<connection> make_connection() {
    ++open_;
    return std::make_unique<connection>(strand_);
  }

  void give_back(std::unique_ptr<connection> c) {
    if (idle_.size() < opts_.max_idle)
      idle_.push_back(std::move(c));
    else
      --open_;
  }

  void discard(std::unique_ptr<connection> c) {
    if (c)
      --open_;
  }

  asio::strand<asio::io_context::executor_type>& strand() { return strand_; }
  const url& target() const { return target_; }
  const client_options& options() const { return opts_; }

private:
  asio::strand<asio::io_context::executor_type> strand_;
  url target_;
  client_options opts_;
  std::vector<std::unique_ptr<connection>> idle_;
  std::atomic<std::size_t> open_{0};
};

exchange::exchange(std::shared_ptr<endpoint_client_impl> owner, outgoing_request req,
                   endpoint_client::completion done)
    : owner_(std::move(owner)), done_(std::move(done)), resolver_(owner_->strand()),
      resolve_deadline_(owner_->strand()) {
  auto& u = owner_->target();
  request_.method(http::verb::post);
  request_.target(u.target);
  request_.version(11);
  request_.set(http::field::host, u.authority());
  for (auto& [name, value] : req.headers)
    request_.set(name, value);
  request_.body() = std::move(req.body);
  request_.keep_alive(true);
  request_.prepare_payload();
}

void exchange::start() {
  started_ = steady::now();
  deadline_ = started_ + owner_->options().timeout;
  if (auto c = owner_->take_idle())
    use_connection(std::move(c), true);
  else
    do_resolve();
}

std::chrono::milliseconds exchange::remaining() const {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - steady::now());
  return std::max(left, std::chrono::milliseconds{1});
}

void exchange::use_connection(std::unique_ptr<connection> c, bool reused) {
  conn_ = std::move(c);
  reused_ = reused;
  do_write();
}

void exchange::do_resolve() {
  // The resolver has no expiry of its own: a timer cancels it at the deadline.
  resolve_deadline_.expires_after(remaining());
  resolve_deadline_.async_wait([self = shared_from_this()](error_code ec) {
    if (!ec)
      self->resolver_.cancel();
  });
  auto& u = owner_->target();
  resolver_.async_resolve(u.host, std::to_string(u.port),
                          beast::bind_front_handler(&exchange::on_resolve, shared_from_this()));
}

void exchange::on_resolve(error_code ec, tcp::resolver::results_type results) {
  resolve_deadline_.cancel();
  if (ec == asio::error::operation_aborted)
    return fail(failure_kind::timeout, "timeout");
  if (ec)
    return fail(failure_kind::dns, "dns: " + ec.message());
  conn_ = owner_->make_connection();
  reused_ = false;
  conn_->stream.expires_after(remaining());
  conn_->stream.async_connect(results,
                              beast::bind_front_handler(&exchange::on_connect, shared_from_this()));
}

void exchange::on_connect(error_code ec, const tcp::endpoint&) {
  if (ec == beast::error::timeout)
    return fail(failure_kind::timeout, "timeout");
  if (ec)
    return fail(failure_kind::connect, "connect: " + ec.message());
  conn_->stream.socket().set_option(tcp::no_delay{true});
  do_write();
}

void exchange::do_write() {
  conn_->stream.expires_after(remaining());
  http::async_write(conn_->stream, request_,
                    beast::bind_front_handler(&exchange::on_write, shared_from_this()));
}

void exchange::on_write(error_code ec, std::size_t) {
  if (ec && reused_ && !retried_ && ec != beast::error::timeout) {
    // A kept-alive connection the receiver had closed: not a failed attempt, just a stale
    // socket. Try once more on a fresh connection.
    retried_ = true;
    owner_->discard(std::move(conn_));
    return do_resolve();
  }
  if (ec == beast::error::timeout)
    return fail(failure_kind::timeout, "timeout");
  if (ec)
    return fail(failure_kind::connect, "write: " + ec.message());
  parser_.emplace();
  parser_->body_limit(max_response_body);
  conn_->stream.expires_after(remaining());
  http::async_read(conn_->stream, conn_->buffer, *parser_,
                   beast::bind_front_handler(&exchange::on_read, shared_from_this()));
}

void exchange::on_read(error_code ec, std::size_t bytes) {
  bool stale = ec == http::error::end_of_stream || ec == asio::error::connection_reset ||
               ec == asio::error::eof;
  if (ec && stale && reused_ && !retried_ && bytes == 0) {
    // Same as in on_write: the receiver closed the idle connection just as we reused it.
    retried_ = true;
    owner_->discard(std::move(conn_));
    return do_resolve();
  }
  if (ec == beast::error::timeout)
    return fail(failure_kind::timeout, "timeout");
  if (ec == http::error::body_limit)
    return fail(failure_kind::protocol, "http: response body too large");
  if (ec)
    return fail(failure_kind::protocol, "http: " + ec.message());
  auto& res = parser_->get();
  attempt_response r;
  r.status = static_cast<int>(res.result_int());
  if (auto it = res.find(http::field::retry_after); it != res.end())
    r.retry_after = std::string(it->value());
  if (res.keep_alive() && parser_->is_done())
    owner_->give_back(std::move(conn_));
  else
    owner_->discard(std::move(conn_));
  finish(std::move(r));
}

void exchange::fail(failure_kind kind, std::string what) {
  if (conn_) {
    error_code ignored;
    conn_->stream.socket().close(ignored);
    owner_->discard(std::move(conn_));
  }
  attempt_response r;
  r.failure = kind;
  r.error = std::move(what);
  finish(std::move(r));
}

void exchange::finish(attempt_response r) {
  r.duration = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - started_);
  if (auto done = std::exchange(done_, nullptr))
    done(std::move(r));
}

} // namespace

std::shared_ptr<endpoint_client> endpoint_client::make(asio::io_context& io, url target,
                                                       client_options opts) {
  return std::make_shared<endpoint_client_impl>(io, std::move(target), opts);
}

} // namespace rundun::net
