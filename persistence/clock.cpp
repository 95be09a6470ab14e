#include "persistence/clock.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>

namespace rundun {

namespace {

std::atomic<std::int64_t> offset_ms{0};

} // namespace

void set_clock_offset(std::chrono::milliseconds offset) {
  offset_ms.store(offset.count(), std::memory_order_relaxed);
}

std::chrono::milliseconds clock_offset() {
  return std::chrono::milliseconds{offset_ms.load(std::memory_order_relaxed)};
}

std::string format_rfc3339(time_point t) {
  using namespace std::chrono;
  auto day = floor<days>(t);
  year_month_day ymd{day};
  hh_mm_ss<milliseconds> hms{t - day};
  char buf[40];
  auto ms = hms.subseconds().count();
  if (ms == 0)
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", int(ymd.year()),
                  unsigned(ymd.month()), unsigned(ymd.day()), int(hms.hours().count()),
                  int(hms.minutes().count()), int(hms.seconds().count()));
  else
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", int(ymd.year()),
                  unsigned(ymd.month()), unsigned(ymd.day()), int(hms.hours().count()),
                  int(hms.minutes().count()), int(hms.seconds().count()), int(ms));
  return buf;
}

namespace {

/// Reads exactly `n` digits at `pos`, advancing it.
std::optional<int> digits(std::string_view s, std::size_t& pos, std::size_t n) {
  if (pos + n > s.size())
    return std::nullopt;
  int x = 0;
  for (std::size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9')
      return std::nullopt;
    x = x * 10 + (c - '0');
  }
  pos += n;
  return x;
}

bool expect(std::string_view s, std::size_t& pos, std::string_view one_of) {
  if (pos >= s.size() || one_of.find(s[pos]) == std::string_view::npos)
    return false;
  ++pos;
  return true;
}

} // namespace

std::optional<time_point> parse_rfc3339(std::string_view s) {
  using namespace std::chrono;
  std::size_t pos = 0;
  auto y = digits(s, pos, 4);
  if (!y || !expect(s, pos, "-"))
    return std::nullopt;
  auto mo = digits(s, pos, 2);
  if (!mo || !expect(s, pos, "-"))
    return std::nullopt;
  auto d = digits(s, pos, 2);
  if (!d || !expect(s, pos, "Tt "))
    return std::nullopt;
  auto h = digits(s, pos, 2);
  if (!h || !expect(s, pos, ":"))
    return std::nullopt;
  auto mi = digits(s, pos, 2);
  if (!mi || !expect(s, pos, ":"))
    return std::nullopt;
  auto sec = digits(s, pos, 2);
  if (!sec)
    return std::nullopt;
  int ms = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    std::size_t first = pos;
    for (int scale = 100; pos < s.size() && s[pos] >= '0' && s[pos] <= '9'; ++pos, scale /= 10)
      ms += (s[pos] - '0') * scale;
    if (pos == first)
      return std::nullopt;
  }
  int offset_minutes = 0;
  if (expect(s, pos, "Zz")) {
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int sign = s[pos++] == '-' ? -1 : 1;
    auto oh = digits(s, pos, 2);
    if (!oh || !expect(s, pos, ":"))
      return std::nullopt;
    auto om = digits(s, pos, 2);
    if (!om || *oh > 23 || *om > 59)
      return std::nullopt;
    offset_minutes = sign * (*oh * 60 + *om);
  } else {
    return std::nullopt;
  }
  if (pos != s.size())
    return std::nullopt;
  year_month_day ymd{year{*y}, month{static_cast<unsigned>(*mo)}, day{static_cast<unsigned>(*d)}};
  // A leap second reads as the last second of its minute.
  if (!ymd.ok() || *h > 23 || *mi > 59 || *sec > 60)
    return std::nullopt;
  auto t = sys_days{ymd} + hours{*h} + minutes{*mi} + seconds{std::min(*sec, 59)} +
           milliseconds{ms} - minutes{offset_minutes};
  return time_point_cast<milliseconds>(t);
}

} // namespace rundun
