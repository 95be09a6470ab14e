#include "bench_cpu.hpp"

#include "bench_process.hpp"

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>
#include <unordered_map>

namespace rundun::bench {

namespace {

/// A thread's CPU time so far in seconds: the first field of its `schedstat`, nanoseconds on
/// a CPU (user + system, as `stat` counts them, without its truncation to 10 ms ticks, which
/// adds up over a dozen threads in a short run). 0 if the thread has ended.
double thread_cpu_s(const std::filesystem::path& task) {
  std::ifstream in{task / "schedstat"};
  unsigned long long ns = 0;
  in >> ns;
  return static_cast<double>(ns) / 1e9;
}

/// The whole process's CPU so far, threads that ended included: to the microsecond for this
/// process (getrusage), in 10 ms ticks for another (its /proc `stat`).
double whole_process_cpu_s(pid_t pid) {
  if (pid != getpid())
    return process_cpu_s(pid);
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto secs = [](timeval t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

} // namespace

cpu_sample sample_cpu(pid_t pid) {
  cpu_sample out;
  auto dir = "/proc/" + std::to_string(pid) + "/task";
  std::error_code ec;
  for (auto& task : std::filesystem::directory_iterator{dir, ec}) {
    thread_cpu t;
    t.tid = static_cast<pid_t>(std::stol(task.path().filename().string()));
    std::getline(std::ifstream{task.path() / "comm"}, t.name);
    if (t.tid == pid)
      t.name = "main";
    t.cpu_s = thread_cpu_s(task.path());
    out.threads.push_back(std::move(t));
  }
  // Read last, so that the process's figure includes everything the threads showed.
  out.process_cpu_s = whole_process_cpu_s(pid);
  return out;
}

double cpu_by_thread::total_s() const {
  double sum = exited_s;
  for (auto& [name, s] : by_name)
    sum += s;
  return sum;
}

cpu_by_thread cpu_between(const cpu_sample& before, const cpu_sample& after) {
  std::unordered_map<pid_t, double> was;
  for (auto& t : before.threads)
    was[t.tid] = t.cpu_s;
  cpu_by_thread out;
  double live_s = 0;
  for (auto& t : after.threads) {
    auto it = was.find(t.tid);
    auto spent = t.cpu_s - (it == was.end() ? 0.0 : it->second);
    out.by_name[t.name] += spent;
    live_s += spent;
  }
  // What the process spent that no live thread shows belongs to threads that ended. Another
  // process's total is counted in ticks: a difference within two of them is rounding.
  auto ended_s = after.process_cpu_s - before.process_cpu_s - live_s;
  auto rounding_s = 2.0 / static_cast<double>(sysconf(_SC_CLK_TCK));
  out.exited_s = ended_s > rounding_s ? ended_s : 0.0;
  return out;
}

cpu_split split_by_owner(const cpu_by_thread& all) {
  cpu_split out;
  for (auto& [name, s] : all.by_name) {
    bool harness = name == "main" || std::string_view{name}.starts_with(harness_thread_prefix);
    (harness ? out.harness : out.engine).by_name[name] += s;
  }
  out.engine.exited_s = all.exited_s;
  return out;
}

double this_thread_cpu_s() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

void name_this_thread(const char* name) {
  pthread_setname_np(pthread_self(), name);
}

} // namespace rundun::bench
