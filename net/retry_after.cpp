#include "net/retry_after.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <string>

namespace rundun::net {

namespace {

constexpr std::array<const char*, 12> month_names{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

int month_index(const char* name) {
  for (std::size_t i = 0; i < month_names.size(); ++i)
    if (std::strcmp(name, month_names[i]) == 0)
      return static_cast<int>(i) + 1;
  return 0;
}

std::optional<std::chrono::sys_seconds> make_instant(int y, int mon, int d, int h, int mi, int s) {
  using namespace std::chrono;
  year_month_day ymd{year{y}, month{static_cast<unsigned>(mon)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 60)
    return std::nullopt;
  return sys_days{ymd} + hours{h} + minutes{mi} + seconds{s};
}

std::optional<std::chrono::sys_seconds> parse_http_date(std::string_view v) {
  std::string text(v);
  char wday[16] = {}, mon[4] = {}, zone[4] = {};
  int d = 0, y = 0, h = 0, mi = 0, s = 0, used = 0;
  // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
  if (std::sscanf(text.c_str(), "%3[A-Za-z], %2d %3s %4d %2d:%2d:%2d %3s%n", wday, &d, mon, &y, &h,
                  &mi, &s, zone, &used) == 8 &&
      used == static_cast<int>(text.size()) && std::strcmp(zone, "GMT") == 0)
    return make_instant(y, month_index(mon), d, h, mi, s);
  // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
  if (std::sscanf(text.c_str(), "%15[A-Za-z], %2d-%3s-%2d %2d:%2d:%2d %3s%n", wday, &d, mon, &y, &h,
                  &mi, &s, zone, &used) == 8 &&
      used == static_cast<int>(text.size()) && std::strcmp(zone, "GMT") == 0)
    return make_instant(y < 70 ? 2000 + y : 1900 + y, month_index(mon), d, h, mi, s);
  // asctime: Sun Nov  6 08:49:37 1994
  if (std::sscanf(text.c_str(), "%3s %3s %d %2d:%2d:%2d %4d%n", wday, mon, &d, &h, &mi, &s, &y,
                  &used) == 7 &&
      used == static_cast<int>(text.size()))
    return make_instant(y, month_index(mon), d, h, mi, s);
  return std::nullopt;
}

} // namespace

std::optional<std::chrono::milliseconds>
parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now) {
  using namespace std::chrono;
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
    value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
    value.remove_suffix(1);
  if (value.empty())
    return std::nullopt;
  // Anything beyond a year is as good as "the longest delay", which is where it is capped.
  constexpr std::int64_t max_seconds = 366LL * 24 * 3600;
  if (value.find_first_not_of("0123456789") == std::string_view::npos) {
    if (value.size() > 12)
      return milliseconds{max_seconds * 1000};
    std::int64_t n = 0;
    std::from_chars(value.data(), value.data() + value.size(), n);
    return milliseconds{std::min(n, max_seconds) * 1000};
  }
  auto at = parse_http_date(value);
  if (!at)
    return std::nullopt;
  // In whole seconds: a date centuries away must not overflow a nanosecond clock.
  auto delta =
      at->time_since_epoch().count() - duration_cast<seconds>(now.time_since_epoch()).count();
  return milliseconds{std::clamp<std::int64_t>(delta, 0, max_seconds) * 1000};
}

} // namespace rundun::net
