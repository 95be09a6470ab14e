#pragma once

// What the HTTP benchmarks share: a rundund child process and a blocking keep-alive client.

#include <cstdint>
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/verb.hpp>

namespace rundun::bench {

/// A blocking keep-alive HTTP client to 127.0.0.1:`port`, one per driver thread.
struct http_client {
  boost::asio::io_context io;
  boost::beast::tcp_stream stream{io};
  boost::beast::flat_buffer buffer;
  std::uint16_t port;

  explicit http_client(std::uint16_t p);
  /// One request and its answer: the status and the body. Throws on a broken connection.
  std::pair<int, std::string> call(boost::beast::http::verb verb, const std::string& target,
                                   const std::string& body, const std::string& key = "");
};

/// A rundund child process; stopped with SIGTERM when destroyed.
struct child_server {
  pid_t pid = -1;
  std::uint16_t port = 0;
  void stop();
  ~child_server() { stop(); }
};

/// Starts `rundund` on 127.0.0.1:0 with `data_dir`, `api_key` and private destinations
/// allowed, plus `extra` flags; waits for its listening line. Throws if it does not start.
void start_rundund(child_server& child, const std::string& rundund, const std::string& data_dir,
                   const std::string& api_key, const std::vector<std::string>& extra);

/// User + system CPU seconds of a process so far, from /proc.
double process_cpu_s(pid_t pid);

/// A field of a process's /proc/<pid>/io so far (`wchar`: bytes passed to write(2) and
/// friends, sockets included; `write_bytes`: bytes it dirtied for the storage layer, which
/// for the engine is the store's page writes). Zero where /proc does not say.
double process_io_bytes(pid_t pid, const std::string& field);

/// A port on 127.0.0.1 that was free a moment ago (nothing listens on it now).
std::uint16_t free_port();

} // namespace rundun::bench
