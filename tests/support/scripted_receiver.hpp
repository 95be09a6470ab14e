#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <optional>

#include <boost/json/value.hpp>

#include "tests/support/test_pki.hpp"

namespace rundun::test {

/// One request a receiver got.
struct received {
  std::string target;
  std::map<std::string, std::string> headers; ///< names lowercased
  std::string body;
  std::chrono::steady_clock::time_point at;
  std::chrono::system_clock::time_point wall_at;

  boost::json::value json() const;
  std::string header(const std::string& name) const;
};

/// How the receiver answers one request.
struct reply_plan {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds delay{0};
  bool hang = false;    ///< never answer (until the receiver stops)
  bool garbage = false; ///< answer bytes that are not HTTP, then close
  bool close = false;   ///< close the connection after answering
  bool drop = false;    ///< answer keep-alive, then close the connection anyway
};

/// A webhook receiver on 127.0.0.1:<free port> for tests: a real HTTP/1.1 server with
/// keep-alive, one thread per connection, answering each request by a script.
class scripted_receiver {
public:
  using script = std::function<reply_plan(const received&, std::size_t index)>;

  /// With `tls`, the receiver speaks HTTPS with that certificate. It listens on `host`, on
  /// `port` (0: a free one).
  explicit scripted_receiver(script s = {}, std::optional<tls_identity> tls = {},
                             const std::string& host = "127.0.0.1", std::uint16_t port = 0);
  ~scripted_receiver();

  std::uint16_t port() const { return port_; }
  /// `http(s)://<host>:<port><path>`; `host` may be a name that resolves to 127.0.0.1.
  std::string url(const std::string& path = "/hook", const std::string& host = "127.0.0.1") const;
  /// TLS handshakes that completed, and those that resumed a session.
  std::size_t handshakes() const { return handshakes_.load(); }
  std::size_t resumed_handshakes() const { return resumed_.load(); }

  /// A copy of every request so far, in arrival order.
  std::vector<received> requests() const;
  /// Waits until at least `n` requests arrived; false on timeout.
  bool wait_for(std::size_t n, std::chrono::milliseconds timeout) const;
  /// TCP connections accepted so far (for keep-alive checks).
  std::size_t connections() const { return connections_.load(); }
  /// Requests being answered right now (for concurrency checks).
  std::size_t max_concurrent() const { return max_concurrent_.load(); }

  void set_script(script s);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
  std::uint16_t port_ = 0;
  std::atomic<std::size_t> connections_{0};
  std::atomic<std::size_t> max_concurrent_{0};
  std::atomic<std::size_t> handshakes_{0};
  std::atomic<std::size_t> resumed_{0};
  bool tls_ = false;

  template <class Stream>
  void serve(Stream& stream);
};

} // namespace rundun::test
