#include "tests/support/connect_proxy.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <mutex>
#include <pthread.h>
#include <sstream>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

namespace rundun::test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

/// What one direction of a tunnel reads at a time.
constexpr std::size_t splice_chunk = 16 << 10;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trim(std::string s) {
  auto first = s.find_first_not_of(" \t\r");
  auto last = s.find_last_not_of(" \t\r");
  return first == std::string::npos ? "" : s.substr(first, last - first + 1);
}

/// `127.0.0.1:80` or `[::1]:443` as an endpoint; nullopt for anything else (names too).
std::optional<tcp::endpoint> parse_target(const std::string& target) {
  auto colon = target.rfind(':');
  if (colon == std::string::npos)
    return std::nullopt;
  auto host = target.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec)
    return std::nullopt;
  try {
    auto port = std::stoi(target.substr(colon + 1));
    if (port < 1 || port > 65535)
      return std::nullopt;
    return tcp::endpoint{address, static_cast<std::uint16_t>(port)};
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

/// What the proxy's sessions share with the test: how to answer, and what they saw.
struct proxy_state {
  mutable std::mutex mtx;
  proxy_mode mode = proxy_mode::tunnel;
  int refusal = 403;
  std::optional<std::string> required;
  std::vector<std::string> targets, authorizations;
  std::shared_ptr<std::atomic<std::size_t>> open_tunnels;
};

/// One client connection: its CONNECT, then the tunnel.
class proxy_session : public std::enable_shared_from_this<proxy_session> {
public:
  proxy_session(tcp::socket client, proxy_state& owner)
      : client_(std::move(client)), upstream_(client_.get_executor()), owner_(owner),
        open_tunnels_(owner.open_tunnels) {}

  ~proxy_session() {
    if (tunneled_)
      --*open_tunnels_;
  }

  void start() {
    asio::async_read_until(client_, head_, "\r\n\r\n",
                           [self = shared_from_this()](error_code ec, std::size_t n) {
                             if (!ec)
                               self->on_head(n);
                           });
  }

private:
  void on_head(std::size_t head_size) {
    std::string head(asio::buffers_begin(head_.data()),
                     asio::buffers_begin(head_.data()) + static_cast<std::ptrdiff_t>(head_size));
    head_.consume(head_size);
    std::istringstream lines(head);
    std::string line;
    std::getline(lines, line);
    std::istringstream request_line(line);
    std::string method, target, version;
    request_line >> method >> target >> version;
    std::string authorization;
    while (std::getline(lines, line)) {
      auto colon = line.find(':');
      if (colon != std::string::npos && lower(line.substr(0, colon)) == "proxy-authorization")
        authorization = trim(line.substr(colon + 1));
    }
    if (method != "CONNECT")
      return answer("HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n");
    proxy_mode mode;
    int refusal;
    bool authorized;
    {
      std::lock_guard lock{owner_.mtx};
      owner_.targets.push_back(target);
      owner_.authorizations.push_back(authorization);
      mode = owner_.mode;
      refusal = owner_.refusal;
      authorized = !owner_.required || *owner_.required == authorization;
    }
    if (!authorized)
      return answer("HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic "
                    "realm=\"test\"\r\nContent-Length: 0\r\n\r\n");
    switch (mode) {
    case proxy_mode::refuse:
      return answer("HTTP/1.1 " + std::to_string(refusal) +
                    " Refused\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    case proxy_mode::garbage:
      return answer("this is not HTTP\r\n\r\n");
    case proxy_mode::hang:
      // A read that ends only when the client goes or the proxy stops holds the session.
      return client_.async_read_some(asio::buffer(to_upstream_),
                                     [self = shared_from_this()](error_code, std::size_t) {});
    case proxy_mode::tunnel:
      break;
    }
    auto to = parse_target(target);
    if (!to)
      return answer("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    upstream_.async_connect(*to, [self = shared_from_this()](error_code ec) {
      if (ec)
        return self->answer("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
      self->tunneled_ = true;
      ++*self->open_tunnels_;
      self->reply_ = "HTTP/1.1 200 Connection Established\r\n\r\n";
      asio::async_write(self->client_, asio::buffer(self->reply_),
                        [self](error_code ec, std::size_t) {
                          if (!ec)
                            self->splice();
                        });
    });
  }

  /// Writes `reply`, then closes the connection.
  void answer(std::string reply) {
    reply_ = std::move(reply);
    asio::async_write(client_, asio::buffer(reply_),
                      [self = shared_from_this()](error_code, std::size_t) { self->close(); });
  }

  void splice() {
    // Bytes the client sent behind its CONNECT go first.
    if (head_.size() > 0) {
      std::string early(asio::buffers_begin(head_.data()), asio::buffers_end(head_.data()));
      head_.consume(head_.size());
      auto held = std::make_shared<std::string>(std::move(early));
      asio::async_write(upstream_, asio::buffer(*held),
                        [self = shared_from_this(), held](error_code ec, std::size_t) {
                          if (ec)
                            return self->close();
                          self->splice();
                        });
      return;
    }
    pump(client_, upstream_, to_upstream_);
    pump(upstream_, client_, to_client_);
  }

  /// Copies what `from` sends to `to` until either side ends; then both are closed.
  void pump(tcp::socket& from, tcp::socket& to, std::array<char, splice_chunk>& buf) {
    from.async_read_some(asio::buffer(buf), [self = shared_from_this(), &from, &to,
                                             &buf](error_code ec, std::size_t n) {
      if (ec)
        return self->close();
      asio::async_write(to, asio::buffer(buf.data(), n),
                        [self, &from, &to, &buf](error_code ec, std::size_t) {
                          if (ec)
                            return self->close();
                          self->pump(from, to, buf);
                        });
    });
  }

  void close() {
    error_code ignored;
    client_.close(ignored);
    upstream_.close(ignored);
  }

  tcp::socket client_;
  tcp::socket upstream_;
  proxy_state& owner_;
  std::shared_ptr<std::atomic<std::size_t>> open_tunnels_;
  asio::streambuf head_;
  std::string reply_;
  std::array<char, splice_chunk> to_upstream_{};
  std::array<char, splice_chunk> to_client_{};
  bool tunneled_ = false;
};

} // namespace

struct connect_proxy::impl {
  proxy_state state;
  std::atomic<std::size_t>* connections = nullptr;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::thread thread;

  void accept() {
    acceptor.async_accept([this](error_code ec, tcp::socket socket) {
      if (ec)
        return;
      ++*connections;
      std::make_shared<proxy_session>(std::move(socket), state)->start();
      accept();
    });
  }
};

connect_proxy::connect_proxy(std::uint16_t port, std::optional<std::string> authorization)
    : impl_(std::make_unique<impl>()),
      open_tunnels_(std::make_shared<std::atomic<std::size_t>>(0)) {
  impl_->state.required = std::move(authorization);
  impl_->state.open_tunnels = open_tunnels_;
  impl_->connections = &connections_;
  tcp::endpoint at{asio::ip::make_address("127.0.0.1"), port};
  impl_->acceptor.open(at.protocol());
  // Back up on the port of a proxy that stopped: its closed connections may linger.
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(at);
  impl_->acceptor.listen();
  port_ = impl_->acceptor.local_endpoint().port();
  impl_->accept();
  impl_->thread = std::thread([this] {
    // Named like the load tool's own threads: load_bench, which runs this proxy too, then
    // counts its CPU as the harness's, not the engine's.
    pthread_setname_np(pthread_self(), "bench-proxy");
    impl_->io.run();
  });
}

connect_proxy::~connect_proxy() {
  impl_->io.stop();
  impl_->thread.join();
}

std::string connect_proxy::url(const std::string& userinfo) const {
  return "http://" + (userinfo.empty() ? "" : userinfo + "@") +
         "127.0.0.1:" + std::to_string(port_);
}

void connect_proxy::set_mode(proxy_mode mode, int status) {
  std::lock_guard lock{impl_->state.mtx};
  impl_->state.mode = mode;
  impl_->state.refusal = status;
}

std::vector<std::string> connect_proxy::targets() const {
  std::lock_guard lock{impl_->state.mtx};
  return impl_->state.targets;
}

std::vector<std::string> connect_proxy::authorizations() const {
  std::lock_guard lock{impl_->state.mtx};
  return impl_->state.authorizations;
}

} // namespace rundun::test
