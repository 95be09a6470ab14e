#include "tests/support/server_process.hpp"

#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <poll.h>
#include <random>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

namespace rundun::test {

namespace {

std::filesystem::path unique_path(const std::string& prefix) {
  static std::mt19937_64 rng{std::random_device{}()};
  return std::filesystem::temp_directory_path() /
         (prefix + std::to_string(::getpid()) + "-" + std::to_string(rng()));
}

/// fork + exec of rundund with stdout to a pipe and stderr to a file.
pid_t spawn(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
            int& out_fd, const std::filesystem::path& err_path) {
  int fds[2];
  if (::pipe(fds) != 0)
    throw std::runtime_error("pipe failed");
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(err, STDERR_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    for (auto& [k, v] : env)
      ::setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> argv;
    std::string bin = RUNDUND_PATH;
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(bin.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  out_fd = fds[0];
  return pid;
}

/// Reads from `fd` until `done(text)` or the time limit; returns what was read.
template <class Done>
std::string read_until(int fd, std::chrono::milliseconds limit, Done done) {
  std::string text;
  auto until = std::chrono::steady_clock::now() + limit;
  while (!done(text)) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
      break;
    char buf[4096];
    auto n = ::read(fd, buf, sizeof buf);
    if (n <= 0)
      break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  return text;
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in{p};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

} // namespace

temp_dir::temp_dir() : path_(unique_path("rundun-test-")) {
  std::filesystem::create_directories(path_);
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

process_result run_rundund(const std::vector<std::string>& args,
                           const std::map<std::string, std::string>& env,
                           std::chrono::seconds limit) {
  auto err_path = unique_path("rundun-err-");
  int out_fd = -1;
  auto pid = spawn(args, env, out_fd, err_path);
  process_result r;
  r.out = read_until(out_fd, limit, [](const std::string&) { return false; });
  ::close(out_fd);
  int status = 0;
  auto until = std::chrono::steady_clock::now() + limit;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > until) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.err = slurp(err_path);
  std::filesystem::remove(err_path);
  return r;
}

server_process::server_process(const std::string& data_dir, std::vector<std::string> extra,
                               bool fixed_key, const std::map<std::string, std::string>& env,
                               bool allow_private)
    : key_(test_key()), err_file_(unique_path("rundun-stderr-")) {
  std::vector<std::string> args = {"--listen", "127.0.0.1:0", "--data-dir", data_dir};
  if (allow_private)
    args.push_back("--allow-private-destinations");
  if (fixed_key) {
    args.push_back("--api-key");
    args.push_back(key_);
  }
  args.insert(args.end(), extra.begin(), extra.end());
  int out_fd = -1;
  pid_ = spawn(args, env, out_fd, err_file_);
  constexpr std::string_view marker = "rundund listening on http://127.0.0.1:";
  auto text = read_until(out_fd, std::chrono::seconds{20}, [&](const std::string& t) {
    auto at = t.find(marker);
    return at != std::string::npos && t.find('\n', at) != std::string::npos;
  });
  ::close(out_fd);
  auto at = text.find(marker);
  if (at == std::string::npos) {
    kill9();
    throw std::runtime_error("rundund did not start: " + text + slurp(err_file_));
  }
  port_ = static_cast<std::uint16_t>(std::stoi(text.substr(at + marker.size())));
  stdout_ = text;
  constexpr std::string_view key_marker = "rundund api key: ";
  if (auto k = text.find(key_marker); k != std::string::npos) {
    printed_key_ = text.substr(k + key_marker.size(), text.find('\n', k) - k - key_marker.size());
    if (!fixed_key)
      key_ = printed_key_;
  }
}

server_process::~server_process() {
  kill9();
  std::error_code ec;
  // Kept for the suite's final check that no log line holds a secret (tests/check_logs.sh).
  if (const char* keep = std::getenv("RUNDUN_TEST_LOG_DIR"))
    std::filesystem::copy_file(err_file_, std::filesystem::path(keep) / err_file_.filename(),
                               std::filesystem::copy_options::overwrite_existing, ec);
  std::filesystem::remove(err_file_, ec);
}

void server_process::kill9() {
  if (pid_ <= 0)
    return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

int server_process::terminate(std::chrono::milliseconds limit) {
  if (pid_ <= 0)
    return -1;
  ::kill(pid_, SIGTERM);
  auto until = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > until) {
      kill9();
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string server_process::stderr_text() const {
  return slurp(err_file_);
}

} // namespace rundun::test
