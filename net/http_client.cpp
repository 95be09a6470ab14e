#include "net/http_client.hpp"

#include "net/destination_guard.hpp"
#include "net/envelope.hpp"
#include "net/error.hpp"
#include "net/proxy_tunnel.hpp"

#include <array>
#include <atomic>
#include <charconv>

#include <boost/asio/connect.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
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
using strand_type = asio::strand<asio::io_context::executor_type>;
// Sockets and timers name the strand's type rather than any_io_executor: every completion
// would go through the type-erased executor otherwise.
using socket_type = strand_socket;
using tls_stream_type = ssl::stream<socket_type>;
using timer_type = asio::basic_waitable_timer<steady, asio::wait_traits<steady>, strand_type>;

/// The most of a receiver's response body that is read (and dropped); receivers answer with
/// little, and a longer body fails the attempt.
constexpr std::uint64_t max_response_body = 1 << 20;
/// The most a response's status line and headers may take (Beast's default, named here).
constexpr std::uint32_t max_response_head = 8 << 10;
/// A connection's receive buffer never grows past this: room for the largest head and the
/// start of its body. A body streams through it.
constexpr std::size_t receive_buffer_limit = 2 * max_response_head;
/// What a connection's buffers hold from the start: a usual response head fits, and so do a
/// request's head, or its head and a usual body over TLS. Either grows only for a larger one,
/// and keeps its size for the connection's next requests.
constexpr std::size_t initial_receive_buffer = 1 << 10;
constexpr std::size_t initial_send_buffer = 2 << 10;

struct session_deleter {
  void operator()(SSL_SESSION* s) const { SSL_SESSION_free(s); }
};
using session_ptr = std::unique_ptr<SSL_SESSION, session_deleter>;

/// `n` in decimal at the end of `out`, with no string of its own.
template <class Integer>
void append_decimal(std::string& out, Integer n) {
  char digits[24];
  auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
  out.append(digits, end);
}

/// Beast's HTTP/1 response parser, keeping only what an attempt reports: the status and
/// Retry-After. Beast's `response_parser` would store every header field in a node of its
/// own and the body in a string; here the fields are looked at as they pass and the body is
/// dropped as it is read. Beast still checks the syntax, the framing (Content-Length,
/// chunked, or up to the end of the stream) and keep-alive, within `max_response_head` and
/// `max_response_body`. One per response: a Beast parser is not reused.
class response_head_parser final : public http::basic_parser<false> {
public:
  response_head_parser() {
    header_limit(max_response_head);
    body_limit(max_response_body);
  }

  int status() const { return status_; }
  /// The first Retry-After, if any.
  std::optional<std::string>& retry_after() { return retry_after_; }

private:
  void on_request_impl(http::verb, beast::string_view, beast::string_view, int,
                       error_code&) override {}
  void on_response_impl(int code, beast::string_view, int, error_code&) override { status_ = code; }
  void on_field_impl(http::field name, beast::string_view, beast::string_view value,
                     error_code&) override {
    if (name == http::field::retry_after && !retry_after_)
      retry_after_.emplace(value);
  }
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  std::size_t on_body_impl(beast::string_view body, error_code&) override { return body.size(); }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, error_code&) override {
    return body.size();
  }
  void on_finish_impl(error_code&) override {}

  int status_ = 0;
  std::optional<std::string> retry_after_;
};

/// A keep-alive connection, plain or TLS, direct or a tunnel through the egress proxy, with
/// its buffers and the deadline of the attempt that uses it. Lives on the client's strand; held by
/// the pool or by one exchange at a time.
///
/// The deadline is one timer per connection that is not re-armed per request. An attempt
/// only moves `deadline` forward (the attempts of one client have the same timeout, so a
/// later attempt's deadline is never earlier). The timer waits for the deadline it was armed
/// with; when it fires, it waits again for the current deadline if that is later, and it
/// closes the socket if that has passed while an attempt is on. Keep-alive traffic therefore
/// costs about one timer wait per `client_options::timeout` per connection, instead of
/// arming and cancelling a read and a write timer on every request as Beast's tcp_stream does.
class connection : public std::enable_shared_from_this<connection> {
public:
  connection(strand_type& strand, ssl::context* tls) : timer_(strand) {
    if (tls)
      tls_.emplace(strand, *tls);
    else
      plain_.emplace(strand);
    received.reserve(initial_receive_buffer);
    sent.reserve(initial_send_buffer);
  }

  socket_type& lowest() { return tls_ ? tls_->next_layer() : *plain_; }
  /// Null for plain HTTP.
  tls_stream_type* tls() { return tls_ ? &*tls_ : nullptr; }

  /// Calls `f` with the stream that carries HTTP.
  template <class F>
  void visit(F&& f) {
    if (tls_)
      f(*tls_);
    else
      f(*plain_);
  }

  /// An attempt starts on this connection and must end by `until`.
  void begin_attempt(steady::time_point until) {
    deadline_ = until;
    busy_ = true;
    // A wait that is already on ends no later than `until` (see above), and then waits on.
    if (!timer_waiting_ || timer_.expiry() > until)
      arm(until);
  }

  /// The attempt is over; the timer, if it is waiting, then finds nothing to bound.
  void end_attempt() { busy_ = false; }

  /// The attempt's deadline passed, and the socket was closed for it.
  bool timed_out() const { return timed_out_; }

  /// Responses are read into this; what a response leaves behind stays for the next.
  beast::flat_buffer received{receive_buffer_limit};
  /// The request's bytes (see `exchange::do_write`), rewritten for every request.
  std::string sent;
  /// The receiver's TLS session has been kept for new connections (see `give_back`).
  bool session_kept = false;

private:
  void arm(steady::time_point at) {
    timer_waiting_ = true;
    timer_.expires_at(at); // ends a wait that is on: its handler gets operation_aborted
    // Only a weak reference: a connection that is dropped takes its timer with it.
    timer_.async_wait([weak = weak_from_this()](error_code ec) {
      auto self = weak.lock();
      if (self && ec != asio::error::operation_aborted)
        self->on_timer();
    });
  }

  void on_timer() {
    timer_waiting_ = false;
    if (!busy_)
      return; // idle in the pool: the next attempt arms it again
    if (steady::now() < deadline_)
      return arm(deadline_); // armed by an earlier attempt
    // The pending operation ends with an error, which the exchange reports as a timeout.
    // Closing rather than cancelling also stops a connect from trying the next address.
    timed_out_ = true;
    error_code ignored;
    lowest().close(ignored);
  }

  std::optional<socket_type> plain_;
  std::optional<tls_stream_type> tls_;
  timer_type timer_;
  steady::time_point deadline_;
  bool busy_ = false;
  bool timer_waiting_ = false;
  bool timed_out_ = false;
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

/// True when `value` can go into a header as it is: no line break that would end the field.
bool is_header_value(std::string_view value) {
  return value.find_first_of("\r\n") == std::string_view::npos;
}

class endpoint_client_impl;

/// One POST: resolve, check and connect (unless a kept-alive connection is free), TLS
/// handshake for https, write, read. Through an egress proxy, the connect step is: resolve
/// the proxy, connect to it, and open a CONNECT tunnel to the checked address. Made by
/// `post` on the caller's thread, then run on the client's strand.
class exchange : public std::enable_shared_from_this<exchange> {
public:
  exchange(std::shared_ptr<endpoint_client_impl> owner, outgoing_request req,
           endpoint_client::completion done)
      : owner_(std::move(owner)), req_(std::move(req)), done_(std::move(done)) {}

  void start();

private:
  void do_resolve();
  void on_resolve(result<address_list> addresses);
  void do_resolve_proxy();
  void on_resolve_proxy(result<address_list> addresses);
  void do_connect(const std::vector<tcp::endpoint>& to);
  void on_connect(error_code ec, const tcp::endpoint&);
  void on_tunnel(tunnel_outcome outcome);
  void do_handshake();
  void on_handshake(error_code ec);
  void do_write();
  void on_write(error_code ec, std::size_t);
  void on_read(error_code ec, std::size_t);
  bool retry_on_fresh_connection(const error_code& ec, std::size_t bytes);
  void fail(failure_kind kind, std::string what);
  void fail_connecting(failure_kind kind, std::string what);
  void finish(attempt_response r);
  std::string_view body() const { return req_.body ? std::string_view{*req_.body} : ""; }

  std::shared_ptr<endpoint_client_impl> owner_;
  outgoing_request req_;
  std::optional<response_head_parser> parser_;
  endpoint_client::completion done_;
  std::shared_ptr<connection> conn_;
  bool reused_ = false;
  bool retried_ = false;
  /// The checked addresses the connection goes to (through the proxy: the first of them).
  std::vector<tcp::endpoint> endpoints_;
  /// The egress proxy's addresses, when there is one.
  std::vector<tcp::endpoint> proxy_endpoints_;
  steady::time_point started_;
  steady::time_point deadline_;
};

class endpoint_client_impl final : public endpoint_client {
public:
  endpoint_client_impl(asio::io_context& io, url target, client_options opts)
      : strand_(asio::make_strand(io)), target_(std::move(target)), opts_(std::move(opts)),
        head_(make_head(target_)), reaper_(strand_) {
    if (opts_.resolver)
      resolver_ = opts_.resolver;
    else if (auto own = resolver::make(io, opts_.dns))
      resolver_ = std::move(*own);
    else
      resolver_failure_ = own.error();
  }

  void post(outgoing_request req, completion done) override {
    auto self = std::static_pointer_cast<endpoint_client_impl>(shared_from_this());
    auto ex = std::make_shared<exchange>(std::move(self), std::move(req), std::move(done));
    // The one hand-off left: from the caller (a CAF worker) to the io thread that runs the
    // strand. The pool, the sockets and their timers belong to the strand, and a socket's
    // speculative write and its completions then stay on that thread. The exchange is built
    // here, so what crosses is one pointer. `dispatch` starts it at once when the caller
    // already is on the strand; from any other thread it is one post. Nothing after this
    // hops again until the completion: socket completions run on the strand inline on the io
    // thread that got them.
    asio::dispatch(strand_, [ex = std::move(ex)] { ex->start(); });
  }

  void close_idle() override {
    auto self = shared_from_this();
    asio::dispatch(strand_, [this, self] {
      for (auto& c : idle_)
        discard(std::move(c.conn), true);
      idle_.clear();
    });
  }

  std::size_t open_connections() const override { return open_.load(); }
  std::size_t resumed_handshakes() const override { return resumed_.load(); }

  // -- used by exchanges, on the strand --

  /// Looks up `host` (the endpoint's or the proxy's) until `deadline`; `done` runs on the
  /// strand.
  void resolve(const std::string& host, steady::time_point deadline,
               std::function<void(result<address_list>)> done) {
    if (!resolver_)
      return done(resolver_failure_);
    auto self = std::static_pointer_cast<endpoint_client_impl>(shared_from_this());
    resolver_->resolve(
        host, deadline, [self, done = std::move(done)](result<address_list> r) mutable {
          asio::dispatch(self->strand_,
                         [r = std::move(r), done = std::move(done)] { done(std::move(r)); });
        });
  }

  std::shared_ptr<connection> take_idle() {
    close_expired();
    if (idle_.empty())
      return nullptr;
    auto c = std::move(idle_.back().conn); // the most recently used: least likely stale
    idle_.pop_back();
    return c;
  }

  std::shared_ptr<connection> make_connection() {
    ++open_;
    auto c = std::make_shared<connection>(strand_, target_.tls() ? opts_.tls.get() : nullptr);
    if (auto* tls = c->tls()) {
      SSL* native = tls->native_handle();
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
    }
    return c;
  }

  void count_handshake(SSL* native) {
    if (SSL_session_reused(native))
      ++resumed_;
  }

  void give_back(std::shared_ptr<connection> c) {
    c->end_attempt();
    if (auto* tls = c->tls(); tls && !c->session_kept) {
      // Kept for the next new connection once it can be resumed: by the end of the first
      // response, the receiver's ticket has arrived.
      if (session_ptr s{SSL_get1_session(tls->native_handle())};
          s && SSL_SESSION_is_resumable(s.get())) {
        session_ = std::move(s);
        c->session_kept = true;
      }
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
  void discard(std::shared_ptr<connection> c, bool clean) {
    if (!c)
      return;
    c->end_attempt();
    if (clean && c->tls())
      SSL_set_shutdown(c->tls()->native_handle(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    --open_;
  }

  const url& target() const { return target_; }
  const client_options& options() const { return opts_; }
  /// The egress proxy every new connection goes through, or null.
  const egress_proxy* proxy() const { return opts_.proxy.get(); }
  /// The start of every request to this endpoint, up to its own headers.
  const std::string& head() const { return head_; }

private:
  struct idle_connection {
    std::shared_ptr<connection> conn;
    steady::time_point since;
  };

  /// The request line and the headers that every POST to `u` carries. Keep-alive is
  /// HTTP/1.1's default, so there is no Connection header.
  static std::string make_head(const url& u) {
    std::string head = "POST " + u.target + " HTTP/1.1\r\n";
    head += "Host: " + u.authority() + "\r\n";
    head += "content-type: application/json\r\n";
    head += "user-agent: " + user_agent() + "\r\n";
    return head;
  }

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

  strand_type strand_;
  url target_;
  client_options opts_;
  const std::string head_;
  std::shared_ptr<resolver> resolver_;
  /// Why there is no resolver (a malformed `dns.servers`): every attempt fails with it.
  error_code resolver_failure_;
  /// Least recently used first.
  std::vector<idle_connection> idle_;
  timer_type reaper_;
  bool reaper_armed_ = false;
  session_ptr session_;
  std::atomic<std::size_t> open_{0};
  std::atomic<std::size_t> resumed_{0};
};

void exchange::start() {
  started_ = steady::now();
  deadline_ = started_ + owner_->options().timeout;
  if (owner_->target().tls() && !owner_->options().tls)
    return fail(failure_kind::tls, "tls: no TLS settings for https");
  // A line break in a value would end the header there and let the rest pass as another.
  if (!is_header_value(req_.id) || !is_header_value(req_.signature))
    return fail(failure_kind::protocol,
                "http: webhook-id and webhook-signature must be one line, got a line break");
  if (auto c = owner_->take_idle()) {
    conn_ = std::move(c);
    conn_->begin_attempt(deadline_);
    reused_ = true;
    return do_write();
  }
  do_resolve();
}

void exchange::do_resolve() {
  // The lookup ends by the attempt's deadline: a name server that does not answer fails this
  // attempt then, and holds nothing else.
  owner_->resolve(owner_->target().host, deadline_,
                  [self = shared_from_this()](result<address_list> addresses) {
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
  // Through a proxy, the guard has had its say on the endpoint before the proxy hears of it.
  if (owner_->proxy())
    return do_resolve_proxy();
  do_connect(endpoints_);
}

void exchange::do_resolve_proxy() {
  owner_->resolve(owner_->proxy()->host, deadline_,
                  [self = shared_from_this()](result<address_list> addresses) {
                    self->on_resolve_proxy(std::move(addresses));
                  });
}

void exchange::on_resolve_proxy(result<address_list> addresses) {
  const auto& proxy = *owner_->proxy();
  if (addresses.has_error()) {
    auto what = "proxy: dns: " + proxy.host + ": ";
    auto limit = std::to_string(owner_->options().timeout.count());
    if (addresses.error() == errc::dns_timeout)
      return fail(failure_kind::proxy, what + "no answer within the attempt's " + limit + " ms");
    return fail(failure_kind::proxy, what + addresses.error().message());
  }
  // No guard here: the proxy is the operator's choice, and is on a private network as often
  // as not. The guard holds for the tunnel's target instead.
  proxy_endpoints_.clear();
  for (auto& address : *addresses)
    proxy_endpoints_.emplace_back(address, proxy.port);
  do_connect(proxy_endpoints_);
}

void exchange::do_connect(const std::vector<tcp::endpoint>& to) {
  conn_ = owner_->make_connection();
  conn_->begin_attempt(deadline_);
  reused_ = false;
  asio::async_connect(conn_->lowest(), to,
                      beast::bind_front_handler(&exchange::on_connect, shared_from_this()));
}

void exchange::on_connect(error_code ec, const tcp::endpoint&) {
  if (conn_->timed_out())
    return fail_connecting(failure_kind::timeout, "timeout");
  if (ec)
    return fail_connecting(failure_kind::connect, "connect: " + ec.message());
  error_code ignored; // Nagle's delay only matters for a request written in pieces
  conn_->lowest().set_option(tcp::no_delay{true}, ignored);
  auto* proxy = owner_->proxy();
  if (!proxy)
    return do_handshake();
  // One tunnel, to the first checked address: a proxy that cannot reach it answers 502 or
  // 504, and the attempt fails with that, where a direct connect would try the next address.
  // The connection's timer bounds the handshake as it bounds the rest of the attempt.
  auto& to = endpoints_.front();
  open_tunnel(
      conn_->lowest(), conn_->received, connect_request(*proxy, to.address(), to.port()),
      [self = shared_from_this()](tunnel_outcome outcome) { self->on_tunnel(std::move(outcome)); });
}

void exchange::on_tunnel(tunnel_outcome outcome) {
  if (conn_->timed_out())
    return fail(failure_kind::proxy, "proxy: timeout");
  if (!outcome.open())
    return fail(failure_kind::proxy, std::move(outcome.error));
  do_handshake();
}

void exchange::do_handshake() {
  auto* tls = conn_->tls();
  if (!tls)
    return do_write();
  // Inside a tunnel too, SNI and the certificate check name the endpoint's host, set when
  // the connection was made: the proxy only ever sees the address.
  tls->async_handshake(ssl::stream_base::client,
                       beast::bind_front_handler(&exchange::on_handshake, shared_from_this()));
}

void exchange::on_handshake(error_code ec) {
  if (conn_->timed_out())
    return fail(failure_kind::timeout, "timeout");
  if (ec)
    return fail(failure_kind::tls, tls_failure(ec, conn_->tls()->native_handle()));
  owner_->count_handshake(conn_->tls()->native_handle());
  do_write();
}

void exchange::do_write() {
  // The request's bytes, built in the connection's buffer, whose capacity stays from one
  // request to the next: the endpoint's head, then this request's headers.
  auto& out = conn_->sent;
  auto body = this->body();
  out.assign(owner_->head());
  out.append("webhook-id: ").append(req_.id);
  out.append("\r\nwebhook-timestamp: ");
  append_decimal(out, req_.timestamp);
  out.append("\r\nwebhook-signature: ").append(req_.signature);
  out.append("\r\ncontent-length: ");
  append_decimal(out, body.size());
  out.append("\r\n\r\n");
  auto on_write = beast::bind_front_handler(&exchange::on_write, shared_from_this());
  if (auto* tls = conn_->tls()) {
    // Over TLS the body is copied behind the head: Asio's SSL stream encrypts one buffer of
    // a sequence per write, so two buffers would be two TLS records and two sends. The copy
    // costs far less than encrypting it.
    out.append(body);
    return asio::async_write(*tls, asio::buffer(out), std::move(on_write));
  }
  // Plain: one sendmsg of both pieces (writev), the shared body never copied.
  std::array<asio::const_buffer, 2> pieces{asio::buffer(out), asio::buffer(body)};
  asio::async_write(conn_->lowest(), pieces, std::move(on_write));
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
  if (conn_->timed_out())
    return fail(failure_kind::timeout, "timeout");
  if (ec && retry_on_fresh_connection(ec, 0))
    return;
  if (ec)
    return fail(failure_kind::connect, "write: " + ec.message());
  parser_.emplace();
  conn_->visit([this](auto& stream) {
    http::async_read(stream, conn_->received, *parser_,
                     beast::bind_front_handler(&exchange::on_read, shared_from_this()));
  });
}

void exchange::on_read(error_code ec, std::size_t bytes) {
  if (conn_->timed_out())
    return fail(failure_kind::timeout, "timeout");
  if (ec && retry_on_fresh_connection(ec, bytes))
    return;
  if (ec == http::error::body_limit)
    return fail(failure_kind::protocol, "http: response body too large");
  if (ec)
    return fail(failure_kind::protocol, "http: " + ec.message());
  attempt_response r;
  r.status = parser_->status();
  r.retry_after = std::move(parser_->retry_after());
  // Bytes after the response were not asked for: such a connection is not trusted again.
  if (parser_->keep_alive() && conn_->received.size() == 0)
    owner_->give_back(std::move(conn_));
  else
    owner_->discard(std::move(conn_), true);
  finish(std::move(r));
}

void exchange::fail(failure_kind kind, std::string what) {
  if (conn_) {
    error_code ignored;
    conn_->lowest().close(ignored);
    owner_->discard(std::move(conn_), false);
  }
  attempt_response r;
  r.failure = kind;
  r.error = std::move(what);
  finish(std::move(r));
}

void exchange::fail_connecting(failure_kind kind, std::string what) {
  // Through a proxy, the connection being made is the proxy's: its failure says so.
  if (owner_->proxy())
    return fail(failure_kind::proxy, "proxy: " + what);
  fail(kind, std::move(what));
}

void exchange::finish(attempt_response r) {
  r.duration = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - started_);
  // The body is let go before the outcome is told: whoever gets it may reuse the body at once.
  req_.body.reset();
  if (auto done = std::exchange(done_, nullptr))
    done(std::move(r));
}

} // namespace

std::shared_ptr<endpoint_client> endpoint_client::make(asio::io_context& io, url target,
                                                       client_options opts) {
  return std::make_shared<endpoint_client_impl>(io, std::move(target), std::move(opts));
}

} // namespace rundun::net
