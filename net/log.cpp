#include "net/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <spdlog/async_logger.h>
#include <spdlog/details/thread_pool.h>
#include <spdlog/sinks/base_sink.h>

namespace rundun::log {

namespace {

std::atomic<int> threshold{static_cast<int>(level::info)};

constexpr const char* names[] = {"debug", "info", "warn", "error"};

/// Lines waiting for the log thread; past this, the oldest waiting line is dropped.
constexpr std::size_t queue_lines = 8192;

std::string quoted(std::string_view s) {
  return boost::json::serialize(boost::json::string(s));
}

std::string timestamp() {
  using namespace std::chrono;
  auto t = time_point_cast<milliseconds>(system_clock::now());
  auto day = floor<days>(t);
  year_month_day ymd{day};
  hh_mm_ss<milliseconds> hms{t - day};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", int(ymd.year()),
                unsigned(ymd.month()), unsigned(ymd.day()), int(hms.hours().count()),
                int(hms.minutes().count()), int(hms.seconds().count()),
                int(hms.subseconds().count()));
  return buf;
}

/// Writes each line, as it was formatted at the call, to stderr with one write, on spdlog's
/// log thread; counts what it wrote, for flush().
class stderr_lines final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
public:
  std::atomic<std::uint64_t> written{0};

protected:
  void sink_it_(const spdlog::details::log_msg& m) override {
    std::fwrite(m.payload.data(), 1, m.payload.size(), stderr);
    written.fetch_add(1, std::memory_order_release);
  }
  void flush_() override { std::fflush(stderr); }
};

/// spdlog's asynchronous logger: a caller formats its line and queues it; one thread writes
/// the queue to stderr. A full queue drops its oldest line (overrun_oldest) rather than
/// block the caller: an actor never waits on a slow stderr. Made once and never destroyed,
/// so that a line logged during exit still has a logger; exit waits for the queue (below).
struct async_log {
  std::shared_ptr<stderr_lines> sink = std::make_shared<stderr_lines>();
  std::shared_ptr<spdlog::details::thread_pool> pool =
      std::make_shared<spdlog::details::thread_pool>(queue_lines, 1);
  // Shared: the logger hands the pool a shared_ptr to itself with each line.
  std::shared_ptr<spdlog::async_logger> logger = std::make_shared<spdlog::async_logger>(
      "rundun", sink, pool, spdlog::async_overflow_policy::overrun_oldest);
  std::atomic<std::uint64_t> queued{0};

  async_log() {
    logger->set_pattern("%v");
    logger->set_level(spdlog::level::trace); // the threshold above filters, before formatting
  }
};

async_log& the_log() {
  static async_log* log = [] {
    auto* l = new async_log;
    std::atexit([] { flush(std::chrono::seconds{2}); });
    return l;
  }();
  return *log;
}

} // namespace

void set_level(level l) {
  threshold = static_cast<int>(l);
}

bool parse_level(std::string_view text, level& out) {
  for (int i = 0; i < 4; ++i)
    if (text == names[i]) {
      out = static_cast<level>(i);
      return true;
    }
  return false;
}

void write(level l, std::string_view msg, std::initializer_list<field> fields) {
  if (static_cast<int>(l) < threshold.load(std::memory_order_relaxed))
    return;
  std::string line = "{\"time\":\"" + timestamp() + "\",\"level\":\"" + names[static_cast<int>(l)] +
                     "\",\"message\":" + quoted(msg);
  for (auto& [k, v] : fields)
    line += "," + quoted(k) + ":" + quoted(v);
  line += "}\n";
  auto& log = the_log();
  log.queued.fetch_add(1, std::memory_order_relaxed);
  log.logger->info(std::string_view{line});
}

std::uint64_t dropped() {
  return the_log().pool->overrun_counter();
}

bool flush(std::chrono::milliseconds limit) {
  auto& log = the_log();
  auto until = std::chrono::steady_clock::now() + limit;
  auto target = log.queued.load(std::memory_order_relaxed);
  while (log.sink->written.load(std::memory_order_acquire) + dropped() < target) {
    if (std::chrono::steady_clock::now() >= until)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
  return true;
}

} // namespace rundun::log
