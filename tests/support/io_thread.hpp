#pragma once

#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

namespace rundun::test {

/// An io_context running on a thread of its own, as the engine runs its HTTP client; stopped
/// and joined on destruction.
struct io_thread {
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  std::thread thread{[this] { io.run(); }};

  io_thread() = default;
  io_thread(const io_thread&) = delete;
  ~io_thread() {
    work.reset();
    io.stop();
    thread.join();
  }
};

} // namespace rundun::test
