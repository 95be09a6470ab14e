#include "tests/support/scripted_receiver.hpp"

#include "tests/support/http_call.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

namespace rundun::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

boost::json::value received::json() const {
  return boost::json::parse(body);
}

std::string received::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

struct scripted_receiver::impl {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  asio::ip::address acceptor_address;
  std::optional<ssl::context> tls;
  std::thread accept_thread;
  mutable std::mutex mtx;
  mutable std::condition_variable cv;
  std::vector<received> got;
  script plan;
  std::vector<std::shared_ptr<tcp::socket>> sockets;
  std::vector<std::thread> workers;
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> busy{0};
};

template <class Stream>
void scripted_receiver::serve(Stream& stream) {
  auto& p = *impl_;
  auto& sock = beast::get_lowest_layer(stream);
  beast::flat_buffer buf;
  for (;;) {
    http::request<http::string_body> req;
    boost::system::error_code ec;
    http::read(stream, buf, req, ec);
    if (ec || p.stopping)
      return;
    received r;
    r.target = std::string(req.target());
    r.headers = header_map(req);
    r.body = req.body();
    r.at = std::chrono::steady_clock::now();
    r.wall_at = std::chrono::system_clock::now();
    std::size_t index;
    script plan;
    {
      std::lock_guard guard{p.mtx};
      index = p.got.size();
      p.got.push_back(r);
      plan = p.plan;
    }
    p.cv.notify_all();
    auto now_busy = ++p.busy;
    for (auto seen = max_concurrent_.load();
         now_busy > seen && !max_concurrent_.compare_exchange_weak(seen, now_busy);) {
    }
    auto reply = plan(r, index);
    if (reply.hang) {
      while (!p.stopping)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      --p.busy;
      return;
    }
    if (reply.delay.count() > 0)
      std::this_thread::sleep_for(reply.delay);
    --p.busy;
    if (reply.garbage) {
      asio::write(stream, asio::buffer(std::string("this is not http\r\n\r\n")), ec);
      sock.close(ec);
      return;
    }
    http::response<http::string_body> res{static_cast<http::status>(reply.status), 11};
    for (auto& [k, v] : reply.headers)
      res.set(k, v);
    res.keep_alive(!reply.close && req.keep_alive());
    res.prepare_payload();
    http::write(stream, res, ec);
    if (ec || reply.close || reply.drop || !req.keep_alive()) {
      sock.close(ec);
      return;
    }
  }
}

scripted_receiver::scripted_receiver(script s, std::optional<tls_identity> tls,
                                     const std::string& host, std::uint16_t port)
    : impl_(std::make_unique<impl>()), tls_(tls.has_value()) {
  auto& p = *impl_;
  p.plan = s ? std::move(s) : [](const received&, std::size_t) { return reply_plan{}; };
  if (tls) {
    p.tls.emplace(ssl::context::tls_server);
    p.tls->use_certificate_chain(asio::buffer(tls->cert_pem));
    p.tls->use_private_key(asio::buffer(tls->key_pem), ssl::context::pem);
    static const unsigned char sid_ctx[] = "rundun-test-receiver";
    SSL_CTX_set_session_id_context(p.tls->native_handle(), sid_ctx, sizeof sid_ctx - 1);
  }
  tcp::endpoint ep{asio::ip::make_address(host), port};
  p.acceptor.open(ep.protocol());
  p.acceptor.set_option(asio::socket_base::reuse_address(true));
  p.acceptor.bind(ep);
  p.acceptor.listen();
  port_ = p.acceptor.local_endpoint().port();
  p.acceptor_address = ep.address();
  p.accept_thread = std::thread([this] {
    auto& p = *impl_;
    for (;;) {
      auto sock = std::make_shared<tcp::socket>(p.io);
      boost::system::error_code ec;
      p.acceptor.accept(*sock, ec);
      if (ec || p.stopping)
        return;
      ++connections_;
      std::lock_guard guard{p.mtx};
      p.sockets.push_back(sock);
      p.workers.emplace_back([this, sock] {
        auto& p = *impl_;
        if (!p.tls)
          return serve(*sock);
        ssl::stream<tcp::socket&> stream{*sock, *p.tls};
        boost::system::error_code ec;
        stream.handshake(ssl::stream_base::server, ec);
        if (ec)
          return; // the client refused our certificate, or spoke no TLS
        ++handshakes_;
        if (SSL_session_reused(stream.native_handle()))
          ++resumed_;
        serve(stream);
      });
    }
  });
}

scripted_receiver::~scripted_receiver() {
  auto& p = *impl_;
  p.stopping = true;
  boost::system::error_code ec;
  p.acceptor.close(ec);
  // Wake the accept() call with a connection of our own.
  {
    tcp::socket s{p.io};
    s.connect({p.acceptor_address, port_}, ec);
  }
  p.accept_thread.join();
  std::vector<std::thread> workers;
  {
    std::lock_guard guard{p.mtx};
    for (auto& s : p.sockets)
      s->shutdown(tcp::socket::shutdown_both, ec);
    workers = std::move(p.workers);
  }
  for (auto& w : workers)
    w.join();
}

std::string scripted_receiver::url(const std::string& path, const std::string& host) const {
  return std::string(tls_ ? "https" : "http") + "://" + host + ":" + std::to_string(port_) + path;
}

std::vector<received> scripted_receiver::requests() const {
  std::lock_guard guard{impl_->mtx};
  return impl_->got;
}

bool scripted_receiver::wait_for(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock{impl_->mtx};
  return impl_->cv.wait_for(lock, timeout, [&] { return impl_->got.size() >= n; });
}

void scripted_receiver::set_script(script s) {
  std::lock_guard guard{impl_->mtx};
  impl_->plan = std::move(s);
}

} // namespace rundun::test
