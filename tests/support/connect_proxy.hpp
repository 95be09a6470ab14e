#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace rundun::test {

/// How the proxy answers a CONNECT.
enum class proxy_mode {
  tunnel,  ///< connect to the target, answer 200, and splice bytes both ways
  refuse,  ///< answer the refusal status (403 unless told otherwise) and close
  hang,    ///< read the CONNECT and never answer (until the proxy stops)
  garbage, ///< answer bytes that are not HTTP, then close
};

/// A real HTTP CONNECT proxy for tests on 127.0.0.1:<port>, with Asio on a thread of its
/// own. It tunnels only to IP addresses (the client sends the address the destination guard
/// checked). When given a credential, a CONNECT without `Proxy-Authorization: <it>` gets
/// `407`. It records every CONNECT target and every `Proxy-Authorization` it saw, in order.
class connect_proxy {
public:
  /// Listens on `port` (0: a free one; a port given again after a proxy on it stopped
  /// starts it "back up"). `authorization`: the whole header value it requires, e.g.
  /// `Basic dXNlcjpzZWNyZXQ=`.
  explicit connect_proxy(std::uint16_t port = 0, std::optional<std::string> authorization = {});
  ~connect_proxy();
  connect_proxy(const connect_proxy&) = delete;
  connect_proxy& operator=(const connect_proxy&) = delete;

  std::uint16_t port() const { return port_; }
  /// `http://127.0.0.1:<port>`, or with `user:password@` in it.
  std::string url(const std::string& userinfo = "") const;

  /// How the next CONNECTs are answered; `status` is the refusal's.
  void set_mode(proxy_mode mode, int status = 403);

  /// Every CONNECT target so far (`127.0.0.1:8443`, `[::1]:443`), in arrival order.
  std::vector<std::string> targets() const;
  /// Every Proxy-Authorization value so far, "" for a CONNECT without one.
  std::vector<std::string> authorizations() const;
  /// TCP connections accepted so far.
  std::size_t connections() const { return connections_.load(); }
  /// Tunnels open right now.
  std::size_t open_tunnels() const { return open_tunnels_->load(); }

private:
  struct impl;
  std::unique_ptr<impl> impl_;
  std::uint16_t port_ = 0;
  std::atomic<std::size_t> connections_{0};
  std::shared_ptr<std::atomic<std::size_t>> open_tunnels_;
};

} // namespace rundun::test
