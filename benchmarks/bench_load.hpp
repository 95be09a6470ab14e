#pragma once

// The shape of load_bench's delivery load, shared by its drivers: the jobs, and their pace.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

namespace rundun::bench {

/// One unit of load: answer step `step` of the run behind `token` (one `step.completed`
/// event to the run's webhook, receiver `endpoint`).
struct job {
  std::string token;
  int step;
  std::size_t endpoint;
};

/// Paces jobs at `rate` per second (0: no pacing). Job `n` is due `n / rate` seconds after
/// the start.
struct pacer {
  using clock = std::chrono::steady_clock;
  double rate;
  clock::time_point start = clock::now();
  std::atomic<std::uint64_t> issued{0};

  bool paced() const { return rate > 0; }
  /// When job `n` may be sent.
  clock::time_point due(std::uint64_t n) const {
    return start + std::chrono::duration_cast<clock::duration>(
                       std::chrono::duration<double>(static_cast<double>(n) / rate));
  }
  /// Blocks the calling thread until the next job is due.
  void wait() {
    auto n = issued++;
    if (paced())
      std::this_thread::sleep_until(due(n));
  }
};

} // namespace rundun::bench
