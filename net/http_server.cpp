#include "net/http_server.hpp"

#include <future>
#include <optional>
#include <utility>

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

struct shared_state {
  server_options opts;
  request_handler handler;
  std::atomic<std::size_t> connections{0};
  /// Bytes reserved by the bodies of the requests in progress (`body_reservation`).
  std::atomic<std::uint64_t> held_body_bytes{0};
};

/// A request's share of `shared_state::held_body_bytes`, given back when it is destroyed or
/// released. Empty when default-made or moved from.
class body_reservation {
public:
  body_reservation() = default;
  body_reservation(body_reservation&& other) noexcept
      : held_(std::exchange(other.held_, nullptr)), bytes_(other.bytes_) {}
  body_reservation& operator=(body_reservation&& other) noexcept {
    if (this != &other) {
      release();
      held_ = std::exchange(other.held_, nullptr);
      bytes_ = other.bytes_;
    }
    return *this;
  }
  ~body_reservation() { release(); }

  /// Adds `bytes` to `held` unless the sum would pass `cap`; none when it would (and `held`
  /// is unchanged). Any thread.
  static std::optional<body_reservation> take(std::atomic<std::uint64_t>& held, std::uint64_t cap,
                                              std::uint64_t bytes) {
    auto now = held.load();
    do {
      if (bytes > cap || now > cap - bytes)
        return std::nullopt;
    } while (!held.compare_exchange_weak(now, now + bytes));
    return body_reservation{held, bytes};
  }

  void release() {
    if (held_)
      held_->fetch_sub(bytes_);
    held_ = nullptr;
  }

private:
  body_reservation(std::atomic<std::uint64_t>& held, std::uint64_t bytes)
      : held_(&held), bytes_(bytes) {}

  std::atomic<std::uint64_t>* held_ = nullptr;
  std::uint64_t bytes_ = 0;
};

/// One client connection: read a request, hand it to the handler, write the answer, repeat.
class session : public std::enable_shared_from_this<session> {
public:
  session(tcp::socket socket, std::shared_ptr<shared_state> state)
      : stream_(std::move(socket)), state_(std::move(state)), deadline_(stream_.get_executor()) {
    ++state_->connections;
  }
  ~session() { --state_->connections; }

  void start() {
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&session::do_read, shared_from_this()));
  }

  /// Answers 503 and closes: the server is at its connection cap.
  void refuse() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      self->reply_error(503, "too_many_connections",
                        "the server has too many open connections; try again shortly", false);
    });
  }

private:
  void do_read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(state_->opts.max_header_bytes));
    // No body limit yet: Beast would check Content-Length against its default (1 MiB) while
    // it reads the header, before on_header knows the route's own limit (10 MiB for photos).
    parser_->body_limit(boost::none);
    stream_.expires_after(state_->opts.header_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&session::on_header, shared_from_this()));
  }

  void on_header(error_code ec, std::size_t) {
    if (ec)
      return on_read_error(ec);
    // Beast is done after the header of a request without a body: nothing to screen, limit
    // or hold.
    if (!parser_->is_done() && !admit_body())
      return;
    stream_.expires_after(state_->opts.read_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  /// The checks a request's headers allow before its body is read: the screen, the target's
  /// body limit, and the server's room for bodies. False when the request was answered: its
  /// body is then never read (it is dropped while lingering), and the connection closes.
  bool admit_body() {
    auto& opts = state_->opts;
    if (opts.screen) {
      if (auto refused = opts.screen(parser_->get().base())) {
        keep_alive_ = false;
        linger_ = true; // the body is still coming
        write(std::move(*refused), parser_->get().version());
        return false;
      }
    }
    auto limit = opts.body_limit(parser_->get().target());
    auto length = parser_->content_length();
    if (length && *length > limit) {
      linger_ = true;
      reply_error(body_too_large, body_too_large_message(limit));
      return false;
    }
    // A chunked body's length is unknown until its end: it holds what it may grow to.
    auto held = body_reservation::take(state_->held_body_bytes, opts.max_held_body_bytes,
                                       length.value_or(limit));
    if (!held) {
      linger_ = true;
      keep_alive_ = false;
      auto res = opts.error_response(bodies_overloaded.status, std::string(bodies_overloaded.code),
                                     std::string(bodies_overloaded.message));
      res.set(http::field::retry_after, std::to_string(held_bodies_retry_after_seconds));
      write(std::move(res), parser_->get().version());
      return false;
    }
    reservation_ = std::move(*held);
    parser_->body_limit(limit);
    return true;
  }

  void on_read(error_code ec, std::size_t) {
    if (ec)
      return on_read_error(ec);
    stream_.expires_never();
    auto req = parser_->release();
    keep_alive_ = req.keep_alive();
    auto version = req.version();
    auto self = shared_from_this();
    // The handler's answer and the deadline race; whichever comes first is written.
    auto answered = std::make_shared<std::atomic<bool>>(false);
    deadline_.expires_after(state_->opts.handler_timeout);
    deadline_.async_wait([self, answered, version](error_code ec) {
      if (ec || answered->exchange(true))
        return;
      self->write(self->state_->opts.error_response(
                      500, "handler_timeout",
                      "the server did not answer in time; the request's outcome is unknown"),
                  version);
    });
    state_->handler(std::move(req), [self, version, answered](http_response res) {
      if (answered->exchange(true))
        return; // the deadline answered already
      // The handler may answer from any thread: hop back onto this connection's strand.
      asio::post(self->stream_.get_executor(), [self, version, res = std::move(res)]() mutable {
        self->deadline_.cancel();
        self->write(std::move(res), version);
      });
    });
  }

  void on_read_error(error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset)
      return close();
    if (ec == http::error::body_limit) {
      linger_ = true;
      return reply_error(body_too_large, body_too_large.message);
    }
    if (ec == http::error::header_limit)
      return reply_error(headers_too_large, headers_too_large.message);
    // Anything else is a client that does not speak HTTP/1.1 properly.
    return reply_error(malformed_request, malformed_request.message);
  }

  void reply_error(unsigned status, std::string code, std::string message, bool keep) {
    keep_alive_ = keep;
    write(state_->opts.error_response(status, std::move(code), std::move(message)), 11);
  }

  /// Answers one of the server's own refusals and closes: what follows the faulty request on
  /// the connection cannot be trusted to start a new one.
  void reply_error(const server_refusal& r, std::string_view message) {
    reply_error(r.status, std::string(r.code), std::string(message), false);
  }

  void write(http_response res, unsigned version) {
    // Answered: the request's body is freed, or the handler's to bound from here on.
    reservation_.release();
    res.version(version);
    res.keep_alive(keep_alive_);
    res.prepare_payload();
    response_ = std::move(res);
    stream_.expires_after(state_->opts.read_timeout);
    http::async_write(stream_, *response_,
                      beast::bind_front_handler(&session::on_write, shared_from_this()));
  }

  void on_write(error_code ec, std::size_t) {
    if (!ec && linger_)
      return start_linger();
    if (ec || !keep_alive_)
      return close();
    response_.reset();
    do_read();
  }

  /// The answer is out; the client may still be sending the body it was answered about.
  /// Closing now would reset the connection under it, and a client that writes its whole
  /// body before reading would see the reset, not the answer. So: no more sending, and what
  /// still arrives is read and dropped, within a time and a byte budget, until the client
  /// closes.
  void start_linger() {
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    linger_left_ = state_->opts.linger_bytes;
    discard_ = std::make_unique<char[]>(discard_chunk);
    stream_.expires_after(state_->opts.linger_timeout);
    do_discard();
  }

  void do_discard() {
    stream_.async_read_some(asio::buffer(discard_.get(), discard_chunk),
                            beast::bind_front_handler(&session::on_discard, shared_from_this()));
  }

  void on_discard(error_code ec, std::size_t n) {
    if (ec || n >= linger_left_)
      return close();
    linger_left_ -= n;
    do_discard();
  }

  void close() {
    reservation_.release();
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::shared_ptr<shared_state> state_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http_response> response_;
  /// The bytes the request being read or handled holds in `shared_state::held_body_bytes`.
  body_reservation reservation_;
  /// The handler's deadline for the request being handled.
  asio::steady_timer deadline_;
  bool keep_alive_ = true;
  /// Lingering close: on after an answer given before the body was read.
  static constexpr std::size_t discard_chunk = 16 * 1024;
  bool linger_ = false;
  std::uint64_t linger_left_ = 0;
  std::unique_ptr<char[]> discard_;
};

class server_impl final : public http_server {
public:
  server_impl(asio::io_context& io, std::shared_ptr<shared_state> state)
      : io_(io), acceptor_(asio::make_strand(io)), state_(std::move(state)) {}

  error_code listen(const tcp::endpoint& ep) {
    error_code ec;
    acceptor_.open(ep.protocol(), ec);
    if (!ec)
      acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec)
      acceptor_.bind(ep, ec);
    if (!ec)
      acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (!ec)
      bound_ = acceptor_.local_endpoint(ec);
    return ec;
  }

  void do_accept() {
    acceptor_.async_accept(asio::make_strand(io_), [this](error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open())
        return;
      if (!ec) {
        socket.set_option(tcp::no_delay{true}, ec);
        bool full = state_->connections.load() >= state_->opts.max_connections;
        auto s = std::make_shared<session>(std::move(socket), state_);
        if (full)
          s->refuse();
        else
          s->start();
      }
      do_accept();
    });
  }

  tcp::endpoint local_endpoint() const override { return bound_; }

  void stop() override {
    std::promise<void> done;
    asio::post(acceptor_.get_executor(), [this, &done] {
      error_code ignored;
      acceptor_.close(ignored);
      done.set_value();
    });
    done.get_future().wait();
  }

  std::size_t open_connections() const override { return state_->connections.load(); }

  std::uint64_t held_body_bytes() const override { return state_->held_body_bytes.load(); }

private:
  asio::io_context& io_;
  tcp::acceptor acceptor_;
  std::shared_ptr<shared_state> state_;
  tcp::endpoint bound_;
};

} // namespace

result<std::unique_ptr<http_server>> http_server::start(asio::io_context& io, server_options opts,
                                                        request_handler handler) {
  error_code ec;
  auto addr = asio::ip::make_address(opts.host, ec);
  if (ec)
    return ec;
  tcp::endpoint ep{addr, opts.port};
  auto state = std::make_shared<shared_state>();
  state->opts = std::move(opts);
  state->handler = std::move(handler);
  auto server = std::make_unique<server_impl>(io, std::move(state));
  if (auto bind_ec = server->listen(ep))
    return bind_ec;
  server->do_accept();
  return std::unique_ptr<http_server>{std::move(server)};
}

} // namespace rundun::net
