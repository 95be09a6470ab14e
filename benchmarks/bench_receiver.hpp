#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include <boost/asio/io_context.hpp>

namespace boost::asio::ssl {
class context;
}

namespace rundun::bench {

/// How a benchmark endpoint behaves.
enum class receiver_mode {
  fast,  ///< 204 at once
  slow,  ///< 204 after 2 s
  hang,  ///< never answers
  flaky, ///< 500 for every other request
};

/// Figures one receiver collected.
struct receiver_figures {
  std::uint64_t requests = 0;
  std::uint64_t unique_events = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t bad_signatures = 0;
  /// Connections accepted (each a TLS handshake for an HTTPS receiver).
  std::uint64_t connections = 0;
  /// Event creation (its `created_at`) to receipt, in microseconds, one per 2xx answer.
  std::vector<std::int64_t> latencies_us;
};

/// An async webhook receiver on 127.0.0.1:<free port> for the load benchmarks. Runs on the
/// io_context it is given (one thread); verifies every signature with `secret` (and the
/// timestamp's tolerance), counts events once each by `webhook-id`, and records the
/// creation-to-receipt latency of each accepted one. Lean, because its CPU is the load
/// tool's: it keeps only the `webhook-*` headers and the body of a request, keys its HMAC
/// once, and answers with constant bytes on keep-alive connections.
class bench_receiver {
public:
  /// Listens at once. With `tls`, it serves HTTPS with that server context (see
  /// bench_tls.hpp) and its url() is `https://…`. Throws if `secret` is not a `whsec_` secret.
  bench_receiver(boost::asio::io_context& io, receiver_mode mode, const std::string& secret,
                 std::shared_ptr<boost::asio::ssl::context> tls = nullptr);
  ~bench_receiver();

  std::uint16_t port() const;
  std::string url() const;
  /// Requests answered with a 2xx so far (thread-safe).
  std::uint64_t accepted() const;
  /// Distinct events accepted so far (thread-safe, cheap).
  std::uint64_t unique_events() const;
  /// A snapshot of the figures (thread-safe).
  receiver_figures figures() const;

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

} // namespace rundun::bench
