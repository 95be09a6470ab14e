#include "net/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

namespace rundun::log {

namespace {

std::atomic<int> threshold{static_cast<int>(level::info)};

constexpr const char* names[] = {"debug", "info", "warn", "error"};

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
  std::fwrite(line.data(), 1, line.size(), stderr);
}

} // namespace rundun::log
