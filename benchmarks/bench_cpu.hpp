#pragma once

// CPU time by thread, from /proc: which thread group of a process spent the CPU of a
// benchmark's measured window (the engine's threads, or the load tool's own).

#include <future>
#include <map>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

namespace rundun::bench {

/// The prefix of every thread the load tool starts for itself (`bench-drv`, `bench-rx`): in
/// the embedded driver, threads without it are the engine's (apart from the main thread).
constexpr std::string_view harness_thread_prefix = "bench-";

/// One thread's CPU time so far (user + system: the time on a CPU from
/// /proc/<pid>/task/<tid>/schedstat, in nanoseconds).
struct thread_cpu {
  pid_t tid = 0;
  /// Its name (`comm`); "main" for the process's first thread.
  std::string name;
  double cpu_s = 0;
};

/// Every live thread of a process, and the CPU of the whole process (which counts threads
/// that have already exited too).
struct cpu_sample {
  std::vector<thread_cpu> threads;
  double process_cpu_s = 0;
};

/// Samples process `pid`'s threads now. Called from the thread that runs the scenario.
cpu_sample sample_cpu(pid_t pid);

/// CPU seconds spent between two samples of one process, per thread name.
struct cpu_by_thread {
  std::map<std::string, double> by_name;
  /// Threads that ended between the samples: the process's CPU that no live thread shows
  /// (0 when within two clock ticks, the rounding of another process's total).
  double exited_s = 0;
  /// The whole: every name's seconds and `exited_s`.
  double total_s() const;
};

/// What each thread of `before`'s process spent until `after`, grouped by name. A thread
/// absent from `before` started in between and counts from zero.
cpu_by_thread cpu_between(const cpu_sample& before, const cpu_sample& after);

/// Splits one process's CPU into the load tool's threads (the main thread and those whose
/// name starts with `harness_thread_prefix`) and the rest, the engine's. Threads that ended
/// in between count for the engine: the harness keeps its threads alive until it samples.
struct cpu_split {
  cpu_by_thread engine;
  cpu_by_thread harness;
};
cpu_split split_by_owner(const cpu_by_thread& all);

/// CPU seconds the calling thread has used so far (CLOCK_THREAD_CPUTIME_ID, to the
/// nanosecond): for what a harness thread spends inside the engine's API.
double this_thread_cpu_s();

/// Names this thread (at most 15 characters, as Linux keeps them), so that `cpu_between`
/// and `perf` tell it apart; threads it starts inherit the name.
void name_this_thread(const char* name);

/// A thread of the load tool, named `bench-…`, that runs the jobs given to it one at a time
/// and lives until destroyed, so that its CPU is still in /proc when the scenario samples
/// after the job (a joined thread's CPU would count only for the whole process).
class harness_thread {
public:
  explicit harness_thread(const char* name)
      : thread_{[this, name] {
          name_this_thread(name);
          io_.run();
        }} {}
  ~harness_thread() {
    work_.reset();
    thread_.join();
  }
  harness_thread(const harness_thread&) = delete;

  /// Runs `job` on this thread; waits for it and returns its result (or rethrows).
  template <class Job>
  auto run(Job job) {
    std::packaged_task<decltype(job())()> task{std::move(job)};
    auto result = task.get_future();
    boost::asio::post(io_, [&task] { task(); });
    return result.get();
  }

private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      io_.get_executor()};
  std::thread thread_;
};

} // namespace rundun::bench
