#pragma once

#include "tests/support/http_call.hpp"

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <sys/types.h>
#include <thread>
#include <vector>

namespace rundun::test {

/// A fresh, empty data directory under the system temp dir, removed when destroyed.
class temp_dir {
public:
  temp_dir();
  ~temp_dir();
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

private:
  std::filesystem::path path_;
};

/// What a finished command printed and returned.
struct process_result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

/// Runs the built rundund with `args` to completion (for flag tests), with a time limit.
process_result run_rundund(const std::vector<std::string>& args,
                           const std::map<std::string, std::string>& env = {},
                           std::chrono::seconds limit = std::chrono::seconds{20});

/// A real rundund process on 127.0.0.1:0 with its own data dir and a fixed API key.
class server_process {
public:
  /// Starts the server and waits for its "listening" line. `extra` are further flags. With
  /// `fixed_key` the server gets `test_key()`; without, it uses or generates its own, and
  /// `printed_key()` holds what it printed.
  server_process(const std::string& data_dir, std::vector<std::string> extra = {},
                 bool fixed_key = true, const std::map<std::string, std::string>& env = {},
                 bool allow_private = true);
  ~server_process();

  server_process(const server_process&) = delete;

  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  api_client api() const { return {port_, key_}; }
  static std::string test_key() { return "test-api-key-0123456789"; }

  /// SIGKILL, and wait for the process to be gone.
  void kill9();
  /// SIGTERM; returns the exit code (or -1 after `limit`, when it is killed).
  int terminate(std::chrono::milliseconds limit = std::chrono::milliseconds{15'000});
  /// The key line the server printed at start, or "".
  const std::string& printed_key() const { return printed_key_; }
  /// Everything the server printed to stdout before it listened.
  const std::string& stdout_text() const { return stdout_; }
  /// Everything the server wrote to stderr so far.
  std::string stderr_text() const;

private:
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  std::string key_;
  std::string printed_key_;
  std::string stdout_;
  std::filesystem::path err_file_;
};

/// Polls `check` until it returns true or `limit` passes.
template <class F>
bool eventually(F&& check, std::chrono::milliseconds limit = std::chrono::milliseconds{10'000}) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (check())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  return check();
}

} // namespace rundun::test
