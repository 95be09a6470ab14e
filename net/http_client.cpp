#include "net/http_client.hpp"

#include "net/destination_guard.hpp"
#include "net/error.hpp"

#include <atomic>
#include <deque>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

namespace rundun::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

using steady = std::chrono::steady_clock;

/// The most of a receiver's response body that is read; receivers answer with little.
constexpr std::uint64_t max_response_body = 1 << 20;

struct session_deleter {
  void operator()(SSL_SESSION* s) const { SSL_SESSION_free(s); }
};
using session_ptr = std::unique_ptr<SSL_SESSION, session_deleter>;

/// A keep-alive connection, plain or TLS, with its read buffer.
struct connection {
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<ssl::stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;

  beast::tcp_stream& lowest() { return tls ? tls->next_layer() : *plain; }

  /// Calls `f` with the stream that carries HTTP.
  template <class F>
  void visit(F&& f) {
    if (tls)
      f(*tls);
    else
      f(*plain);
  }
};

/// The text of a failed handshake for the events API, e.g.
/// `tls: certificate verify failed (self-signed certificate)`.
std::string tls_failure(const error_code& ec, SSL* ssl) {
  auto verdict = SSL_get_verify_result(ssl);
  if (verdict != X509_V_OK)
    return std::string("tls: certificate verify failed (") +
           X509_verify_cert_error_string(verdict) + ")";
  return "tls: " + ec.message();
}

class endpoint_client_impl;

/// One POST: resolve, check and connect (unless a kept-alive connection is free), TLS
/// handshake for https, write, read.
class exchange : public std::enable_shared_from_this<exchange> {
public:
  exchange(std::shared_ptr<endpoint_client_impl> owner, outgoing_request req,
           endpoint_client::completion done);

  void start();

private:
  void do_resolve();
  void on_resolve(result<address_list> addresses);
  void on_connect(error_code ec, const tcp::endpoint&);
  void on_handshake(error_code ec);
  void do_write();
  void on_write(error_code ec, std::size_t);
  void on_read(error_code ec, std::size_t);
  bool retry_on_fresh_connection(const error_code& ec, std::size_t bytes);
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
  /// The checked addresses the connection goes to.
  std::vector<tcp::endpoint> endpoints_;
  steady::time_point started_;
  steady::time_point deadline_;
};

class endpoint_client_impl final : public endpoint_client {
public:
  endpoint_client_impl(asio::io_context& io, url target, client_options opts)
      : strand_(asio::make_strand(io)), target_(std::move(target)), opts_(std::move(opts)),
        reaper_(strand_) {
    if (opts_.resolver)
      resolver_ = opts_.resolver;
    else if (auto own = resolver::make(io, opts_.dns))
      resolver_ = std::move(*own);
    else
      resolver_failure_ = own.error();
  }

  void post(outgoing_request req, completion done) override {
    auto self = std::static_pointer_cast<endpoint_client_impl>(shared_from_this());
    asio::post(strand_, [self, req = std::move(req), done = std::move(done)]() mutable {
      std::make_shared<exchange>(self, std::move(req), std::move(done))->start();
    });
  }

  void close_idle() override {
    auto self = shared_from_this();
    asio::post(strand_, [this, self] {
      for (auto& c : idle_)
        discard(std::move(c.conn), true);
      idle_.clear();
    });
  }

  std::size_t open_connections() const override { return open_.load(); }
  std::size_t resumed_handshakes() const override { return resumed_.load(); }

  // -- used by exchanges, on the strand --

  /// Looks up the endpoint's host until `deadline`; `done` runs on the strand.
  void resolve(steady::time_point deadline, std::function<void(result<address_list>)> done) {
    if (!resolver_)
      return done(resolver_failure_);
    auto self = std::static_pointer_cast<endpoint_client_impl>(shared_from_this());
    resolver_->resolve(
        target_.host, deadline, [self, done = std::move(done)](result<address_list> r) mutable {
          asio::dispatch(self->strand_,
                         [r = std::move(r), done = std::move(done)] { done(std::move(r)); });
        });
  }

  std::unique_ptr<connection> take_idle() {
    close_expired();
    if (idle_.empty())
      return nullptr;
    auto c = std::move(idle_.back().conn); // the most recently used: least likely stale
    idle_.pop_back();
    return c;
  }

  std::unique_ptr<connection> make_connection() {
    ++open_;
    auto c = std::make_unique<connection>();
    if (target_.tls()) {
      c->tls = std::make_unique<ssl::stream<beast::tcp_stream>>(strand_, *opts_.tls);
      SSL* native = c->tls->native_handle();
      // SNI for host names; the certificate is checked against the host or IP address.
      if (!parse_ip_literal(target_.host)) {
        SSL_set_tlsext_host_name(native, target_.host.c_str());
        SSL_set1_host(native, target_.host.c_str());
      } else {
        auto canonical = parse_ip_literal(target_.host)->to_string();
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(native), canonical.c_str());
      }
      if (session_)
        SSL_set_session(native, session_.get());
    } else {
      c->plain = std::make_unique<beast::tcp_stream>(strand_);
    }
    return c;
  }

  void give_back(std::unique_ptr<connection> c) {
    if (c->tls) {
      // Kept for the next new connection: the receiver's ticket has arrived by now.
      SSL* native = c->tls->native_handle();
      if (SSL_session_reused(native))
        ++resumed_;
      if (auto* s = SSL_get1_session(native))
        session_.reset(s);
    }
    if (idle_.size() < opts_.max_idle) {
      idle_.push_back({std::move(c), steady::now()});
      arm_reaper();
    } else {
      --open_;
    }
  }

  /// Drops a connection. `clean`: it ended normally (the receiver closed it), so its TLS
  /// session stays resumable; OpenSSL marks the session of a connection freed without a
  /// shutdown as not resumable, which is right after a failure only.
  void discard(std::unique_ptr<connection> c, bool clean) {
    if (!c)
      return;
    if (clean && c->tls)
      SSL_set_shutdown(c->tls->native_handle(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    --open_;
  }

  asio::strand<asio::io_context::executor_type>& strand() { return strand_; }
  const url& target() const { return target_; }
  const client_options& options() const { return opts_; }

private:
  struct idle_connection {
    std::unique_ptr<connection> conn;
    steady::time_point since;
  };

  /// Closes the connections idle for longer than the idle timeout (oldest first in `idle_`).
  void close_expired() {
    auto cutoff = steady::now() - opts_.idle_timeout;
    std::size_t n = 0;
    while (n < idle_.size() && idle_[n].since <= cutoff)
      discard(std::move(idle_[n++].conn), true);
    idle_.erase(idle_.begin(), idle_.begin() + static_cast<std::ptrdiff_t>(n));
  }

  /// Wakes up when the oldest idle connection expires. The wait holds only a weak
  /// reference: a client that is dropped closes its connections with it.
  void arm_reaper() {
    if (reaper_armed_ || idle_.empty())
      return;
    reaper_armed_ = true;
    reaper_.expires_at(idle_.front().since + opts_.idle_timeout);
    std::weak_ptr<endpoint_client> weak = shared_from_this();
    reaper_.async_wait([this, weak](error_code ec) {
      auto self = weak.lock();
      if (!self || ec == asio::error::operation_aborted)
        return;
      reaper_armed_ = false;
      close_expired();
      arm_reaper();
    });
  }

  asio::strand<asio::io_context::executor_type> strand_;
  url target_;
  client_options opts_;
  std::shared_ptr<resolver> resolver_;
  /// Why there is no resolver (a malformed `dns.servers`): every attempt fails with it.
  error_code resolver_failure_;
  /// Least recently used first.
  std::vector<idle_connection> idle_;
  asio::steady_timer reaper_;
  bool reaper_armed_ = false;
  session_ptr session_;
  std::atomic<std::size_t> open_{0};
  std::atomic<std::size_t> resumed_{0};
};

exchange::exchange(std::shared_ptr<endpoint_client_impl> owner, outgoing_request req,
                   endpoint_client::completion done)
    : owner_(std::move(owner)), done_(std::move(done)) {
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
  if (owner_->target().tls() && !owner_->options().tls)
    return fail(failure_kind::tls, "tls: no TLS settings for https");
  if (auto c = owner_->take_idle()) {
    conn_ = std::move(c);
    reused_ = true;
    return do_write();
  }
  do_resolve();
}

std::chrono::milliseconds exchange::remaining() const {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - steady::now());
  return std::max(left, std::chrono::milliseconds{1});
}

void exchange::do_resolve() {
  // The lookup ends by the attempt's deadline: a name server that does not answer fails this
  // attempt then, and holds nothing else.
  owner_->resolve(deadline_, [self = shared_from_this()](result<address_list> addresses) {
    self->on_resolve(std::move(addresses));
  });
}

void exchange::on_resolve(result<address_list> addresses) {
  if (addresses.has_error()) {
    auto what = "dns: " + owner_->target().host + ": ";
    auto limit = std::to_string(owner_->options().timeout.count());
    // Unanswered by the deadline: the attempt's timeout, spent waiting for the name server.
    if (addresses.error() == errc::dns_timeout)
      return fail(failure_kind::timeout, what + "no answer within the attempt's " + limit + " ms");
    return fail(failure_kind::dns, what + addresses.error().message());
  }
  // Every address is checked, and the connection goes to these checked addresses, never
  // to a second lookup: a DNS answer that changes in between cannot slip through.
  if (!owner_->options().allow_private_destinations)
    for (auto& address : *addresses)
      if (!is_public(address))
        return fail(failure_kind::destination_not_allowed, "destination_not_allowed");
  endpoints_.clear();
  for (auto& address : *addresses)
    endpoints_.emplace_back(address, owner_->target().port);
  conn_ = owner_->make_connection();
  reused_ = false;
  conn_->lowest().expires_after(remaining());
  conn_->lowest().async_connect(
      endpoints_, beast::bind_front_handler(&exchange::on_connect, shared_from_this()));
}

void exchange::on_connect(error_code ec, const tcp::endpoint&) {
  if (ec == beast::error::timeout)
    return fail(failure_kind::timeout, "timeout");
  if (ec)
    return fail(failure_kind::connect, "connect: " + ec.message());
  conn_->lowest().socket().set_option(tcp::no_delay{true});
  if (!conn_->tls)
    return do_write();
  conn_->lowest().expires_after(remaining());
  conn_->tls->async_handshake(
      ssl::stream_base::client,
      beast::bind_front_handler(&exchange::on_handshake, shared_from_this()));
}

void exchange::on_handshake(error_code ec) {
  if (ec == beast::error::timeout)
    return fail(failure_kind::timeout, "timeout");
  if (ec)
    return fail(failure_kind::tls, tls_failure(ec, conn_->tls->native_handle()));
  do_write();
}

void exchange::do_write() {
  conn_->lowest().expires_after(remaining());
  conn_->visit([this](auto& stream) {
    http::async_write(stream, request_,
                      beast::bind_front_handler(&exchange::on_write, shared_from_this()));
  });
}

bool exchange::retry_on_fresh_connection(const error_code& ec, std::size_t bytes) {
  // A kept-alive connection that the receiver closed while it sat idle: not a failed
  // attempt, just a stale socket. Try once more on a fresh connection.
  bool stale = ec == http::error::end_of_stream || ec == asio::error::connection_reset ||
               ec == asio::error::eof || ec == asio::error::broken_pipe ||
               ec == ssl::error::stream_truncated;
  if (!stale || !reused_ || retried_ || bytes > 0)
    return false;
  retried_ = true;
  owner_->discard(std::move(conn_), true);
  do_resolve();
  return true;
}

void exchange::on_write(error_code ec, std::size_t) {
  if (ec && retry_on_fresh_connection(ec, 0))
    return;
  if (ec == beast::error::timeout)
    return fail(failure_kind::timeout, "timeout");
  if (ec)
    return fail(failure_kind::connect, "write: " + ec.message());
  parser_.emplace();
  parser_->body_limit(max_response_body);
  conn_->lowest().expires_after(remaining());
  conn_->visit([this](auto& stream) {
    http::async_read(stream, conn_->buffer, *parser_,
                     beast::bind_front_handler(&exchange::on_read, shared_from_this()));
  });
}

void exchange::on_read(error_code ec, std::size_t bytes) {
  if (ec && retry_on_fresh_connection(ec, bytes))
    return;
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
    owner_->discard(std::move(conn_), true);
  finish(std::move(r));
}

void exchange::fail(failure_kind kind, std::string what) {
  if (conn_) {
    error_code ignored;
    conn_->lowest().socket().close(ignored);
    owner_->discard(std::move(conn_), false);
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
  return std::make_shared<endpoint_client_impl>(io, std::move(target), std::move(opts));
}

} // namespace rundun::net
