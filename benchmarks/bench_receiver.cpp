#include "bench_receiver.hpp"

#include "net/webhook_verifier.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace rundun::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

/// `"created_at":"2026-11-26T23:17:24.082Z"` in a webhook body, as microseconds since the
/// epoch; 0 when absent.
std::int64_t created_at_us(std::string_view body) {
  constexpr std::string_view key = "\"created_at\":\"";
  auto at = body.find(key);
  if (at == std::string_view::npos)
    return 0;
  auto t = body.substr(at + key.size(), 24);
  int y, mo, d, h, mi, s, ms = 0;
  if (std::sscanf(std::string(t).c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3d", &y, &mo, &d, &h, &mi, &s,
                  &ms) < 6)
    return 0;
  using namespace std::chrono;
  auto date = sys_days{year{y} / month{static_cast<unsigned>(mo)} / day{static_cast<unsigned>(d)}};
  auto tp = date + hours{h} + minutes{mi} + seconds{s} + milliseconds{ms};
  return duration_cast<microseconds>(tp.time_since_epoch()).count();
}

} // namespace

struct bench_receiver::impl : std::enable_shared_from_this<impl> {
  impl(asio::io_context& io, receiver_mode m, const std::string& secret)
      : acceptor(io), mode(m), verifier(*net::webhook_verifier::from_secret(secret)) {}

  tcp::acceptor acceptor;
  receiver_mode mode;
  net::webhook_verifier verifier;
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> unique{0};
  mutable std::mutex mtx;
  receiver_figures figs;
  std::unordered_set<std::string> seen;
  std::uint64_t flip = 0;

  void accept() {
    acceptor.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket s) {
      if (ec)
        return;
      s.set_option(tcp::no_delay{true});
      std::make_shared<connection>(self, std::move(s))->read();
      self->accept();
    });
  }

  /// Records one request; returns the status to answer with (0: never answer).
  unsigned take(const http::request<http::string_body>& req) {
    auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    std::string id(req["webhook-id"]);
    std::lock_guard guard{mtx}; // the verifier is not thread-safe either
    bool good = !verifier.verify(id, req["webhook-timestamp"], req["webhook-signature"], req.body(),
                                 std::chrono::system_clock::now());
    ++figs.requests;
    if (!good)
      ++figs.bad_signatures;
    unsigned status = 204;
    if (mode == receiver_mode::hang)
      return 0;
    if (mode == receiver_mode::flaky && (flip++ % 2 == 0))
      status = 500;
    if (status == 204) {
      if (seen.insert(id).second) {
        ++figs.unique_events;
        ++unique;
      } else
        ++figs.duplicates;

      if (auto created = created_at_us(req.body()))
        figs.latencies_us.push_back(now_us - created);
      ++accepted;
    }
    return status;
  }

  struct connection : std::enable_shared_from_this<connection> {
    connection(std::shared_ptr<impl> o, tcp::socket s)
        : owner(std::move(o)), stream(std::move(s)), timer(stream.get_executor()) {}
    std::shared_ptr<impl> owner;
    beast::tcp_stream stream;
    asio::steady_timer timer;
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::response<http::empty_body> res;

    void read() {
      req = {};
      http::async_read(stream, buffer, req,
                       [self = shared_from_this()](beast::error_code ec, std::size_t) {
                         if (ec)
                           return;
                         auto status = self->owner->take(self->req);
                         if (status == 0)
                           return self->hold();
                         if (self->owner->mode == receiver_mode::slow) {
                           self->timer.expires_after(std::chrono::seconds{2});
                           return self->timer.async_wait(
                               [self, status](beast::error_code) { self->write(status); });
                         }
                         self->write(status);
                       });
    }

    /// A hanging endpoint: keep the connection open and never answer.
    void hold() {
      timer.expires_after(std::chrono::hours{24});
      timer.async_wait([self = shared_from_this()](beast::error_code) {});
    }

    void write(unsigned status) {
      res = {static_cast<http::status>(status), 11};
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      http::async_write(stream, res,
                        [self = shared_from_this()](beast::error_code ec, std::size_t) {
                          if (!ec)
                            self->read();
                        });
    }
  };
};

bench_receiver::bench_receiver(asio::io_context& io, receiver_mode mode, const std::string& secret)
    : impl_(std::make_shared<impl>(io, mode, secret)) {
  tcp::endpoint ep{asio::ip::make_address("127.0.0.1"), 0};
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen(asio::socket_base::max_listen_connections);
  impl_->accept();
}

bench_receiver::~bench_receiver() {
  beast::error_code ec;
  impl_->acceptor.close(ec);
}

std::uint16_t bench_receiver::port() const {
  return impl_->acceptor.local_endpoint().port();
}

std::string bench_receiver::url() const {
  return "http://127.0.0.1:" + std::to_string(port()) + "/hook";
}

std::uint64_t bench_receiver::accepted() const {
  return impl_->accepted.load();
}

std::uint64_t bench_receiver::unique_events() const {
  return impl_->unique.load();
}

receiver_figures bench_receiver::figures() const {
  std::lock_guard guard{impl_->mtx};
  return impl_->figs;
}

} // namespace rundun::bench
