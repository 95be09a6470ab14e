#include "bench_process.hpp"

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>

namespace rundun::bench {

namespace asio = boost::asio;
namespace http = boost::beast::http;

http_client::http_client(std::uint16_t p) : port(p) {
  stream.connect({asio::ip::make_address("127.0.0.1"), port});
}

std::pair<int, std::string>
http_client::call(http::verb verb, const std::string& target, const std::string& body,
                  const std::string& key,
                  const std::vector<std::pair<std::string, std::string>>& headers) {
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1");
  if (!key.empty())
    req.set(http::field::authorization, "Bearer " + key);
  for (auto& [name, value] : headers)
    req.set(name, value);
  req.body() = body;
  req.prepare_payload();
  http::write(stream, req);
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  return {static_cast<int>(res.result_int()), res.body()};
}

void child_server::stop() {
  if (pid > 0) {
    kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
    pid = -1;
  }
}

void start_rundund(child_server& child, const std::string& rundund, const std::string& data_dir,
                   const std::string& api_key, const std::vector<std::string>& extra) {
  std::vector<std::string> args = {
      rundund,  "--listen",  "127.0.0.1:0", "--data-dir",
      data_dir, "--api-key", api_key,       "--allow-private-destinations"};
  args.insert(args.end(), extra.begin(), extra.end());
  int fds[2];
  if (pipe(fds) != 0)
    throw std::runtime_error("pipe");
  child.pid = fork();
  if (child.pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(rundund.c_str(), argv.data());
    _exit(127);
  }
  close(fds[1]);
  std::string out;
  char buf[512];
  while (out.find('\n', out.find("listening")) == std::string::npos) {
    auto n = read(fds[0], buf, sizeof buf);
    if (n <= 0)
      throw std::runtime_error("rundund did not start: " + out);
    out.append(buf, static_cast<std::size_t>(n));
  }
  close(fds[0]);
  auto at = out.find("http://127.0.0.1:");
  child.port = static_cast<std::uint16_t>(std::stoi(out.substr(at + 17)));
}

/// User + system CPU seconds of another process, from /proc.
double process_cpu_s(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields{text.substr(text.rfind(')') + 2)};
  std::string f;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14)
      utime = std::stoull(f);
    if (i == 15)
      stime = std::stoull(f);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double thread_bytes_written(pid_t pid, const std::string& thread) {
  double total = 0;
  std::error_code ec;
  for (auto& task :
       std::filesystem::directory_iterator{"/proc/" + std::to_string(pid) + "/task", ec}) {
    std::string name;
    std::getline(std::ifstream{task.path() / "comm"}, name);
    if (name != thread)
      continue;
    std::ifstream io{task.path() / "io"};
    for (std::string line; std::getline(io, line);)
      if (line.rfind("wchar:", 0) == 0)
        total += std::stod(line.substr(6));
  }
  return total;
}

std::uint16_t free_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a{io, {boost::asio::ip::make_address("127.0.0.1"), 0}};
  return a.local_endpoint().port();
}

} // namespace rundun::bench
