// The asynchronous log: a stderr that nobody reads never blocks a caller; when its queue is
// full the oldest lines are dropped and counted; what is written is whole JSON lines.

#include "net/log.hpp"

#define BOOST_TEST_MODULE log
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <fcntl.h>
#include <string>
#include <thread>
#include <unistd.h>

using namespace rundun;

namespace {

/// Points this process's stderr at a pipe for the test's lifetime.
struct stderr_to_pipe {
  int fds[2] = {-1, -1};
  int saved = -1;
  stderr_to_pipe() {
    BOOST_REQUIRE(pipe(fds) == 0);
    fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
    saved = dup(2);
    BOOST_REQUIRE(dup2(fds[1], 2) == 2);
  }
  ~stderr_to_pipe() {
    dup2(saved, 2);
    close(saved);
    close(fds[0]);
    close(fds[1]);
  }
  /// Everything in the pipe now.
  std::string drain() {
    std::string out;
    char buf[1 << 16];
    for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;)
      out.append(buf, static_cast<std::size_t>(n));
    return out;
  }
};

} // namespace

BOOST_AUTO_TEST_CASE(a_stderr_nobody_reads_blocks_no_caller_and_drops_the_oldest_lines) {
  stderr_to_pipe err;
  log::set_level(log::level::info);
  BOOST_REQUIRE(log::flush());
  auto dropped_before = log::dropped();
  // The pipe holds 64 KiB (some 400 of these lines) and the queue 8,192 lines: nobody reads,
  // so the log thread soon blocks in write(2). Each call must still return: were it to
  // wait for stderr, this loop would never end (and ctest's timeout would fail the test).
  constexpr std::uint64_t lines = 20'000;
  for (std::uint64_t i = 0; i < lines; ++i)
    log::info("a line nobody reads yet", {{"n", std::to_string(i)}, {"pad", std::string(64, 'x')}});
  auto dropped = log::dropped() - dropped_before;
  BOOST_TEST(dropped > 0u);
  BOOST_TEST(dropped < lines);

  // Reading now lets the log thread go on: every line is then written whole, or dropped.
  std::string got;
  std::thread reader([&] {
    while (!log::flush(std::chrono::milliseconds{10}))
      got += err.drain();
  });
  reader.join();
  got += err.drain();
  std::uint64_t written = 0;
  std::uint64_t last_n = 0;
  for (std::size_t at = 0, end; (end = got.find('\n', at)) != std::string::npos; at = end + 1) {
    auto line = boost::json::parse(got.substr(at, end - at)).as_object();
    BOOST_TEST(line.at("message") == "a line nobody reads yet");
    BOOST_TEST(line.at("level") == "info");
    // Lines keep their order; the dropped ones are the oldest waiting, so gaps only skip.
    auto n = std::stoull(std::string(line.at("n").as_string()));
    BOOST_TEST((written == 0 || n > last_n));
    last_n = n;
    ++written;
  }
  BOOST_TEST(got.back() == '\n');
  BOOST_TEST(written + dropped == lines);
  BOOST_TEST(last_n == lines - 1); // the newest line is never the one dropped
}

BOOST_AUTO_TEST_CASE(lines_below_the_level_are_not_queued) {
  stderr_to_pipe err;
  log::set_level(log::level::warn);
  log::info("not written");
  log::warn("written", {{"run_id", "r-1"}});
  BOOST_REQUIRE(log::flush());
  auto got = err.drain();
  log::set_level(log::level::info);
  auto line = boost::json::parse(got).as_object();
  BOOST_TEST(line.at("message") == "written");
  BOOST_TEST(line.at("level") == "warn");
  BOOST_TEST(line.at("run_id") == "r-1");
  BOOST_TEST(line.at("time").as_string().size() == 24u); // 2026-11-30T09:00:00.000Z
}
