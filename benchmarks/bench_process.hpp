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
  /// `headers` are set besides Host and Authorization.
  std::pair<int, std::string>
  call(boost::beast::http::verb verb, const std::string& target, const std::string& body,
       const std::string& key = "",
       const std::vector<std::pair<std::string, std::string>>& headers = {});
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

/// Bytes passed to write(2) and friends so far (`wchar` of /proc/<pid>/task/<tid>/io) by the
/// threads of process `pid` named `thread`. For `rundun-store`, the store's writer, that is
/// exactly what the store wrote to its data file: it writes nothing else. (`write_bytes` of
/// the whole process was tried first: on this ext4 it counted about ten times the bytes the
/// writer passed to pwrite, so it does not measure the store.)
double thread_bytes_written(pid_t pid, const std::string& thread);

/// A port on 127.0.0.1 that was free a moment ago (nothing listens on it now).
std::uint16_t free_port();

} // namespace rundun::bench
