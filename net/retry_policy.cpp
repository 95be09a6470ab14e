#include "net/retry_policy.hpp"

#include <algorithm>
#include <charconv>

namespace rundun::net {

milliseconds retry_schedule::longest() const {
  return delays.empty() ? milliseconds{0} : *std::max_element(delays.begin(), delays.end());
}

retry_schedule default_retry_schedule() {
  using namespace std::chrono;
  return {{seconds{30}, minutes{2}, minutes{10}, hours{1}, hours{6}}};
}

result<milliseconds> parse_duration(std::string_view text) {
  // Long enough for 30 days in milliseconds, short enough never to overflow.
  constexpr std::size_t max_digits = 10;
  auto unit_at = text.find_first_not_of("0123456789");
  if (unit_at == 0 || unit_at == std::string_view::npos || unit_at > max_digits)
    return errc::duration_malformed;
  std::int64_t n = 0;
  std::from_chars(text.data(), text.data() + unit_at, n);
  auto unit = text.substr(unit_at);
  if (unit == "ms")
    return milliseconds{n};
  if (unit == "s")
    return milliseconds{n * 1000};
  if (unit == "m")
    return milliseconds{n * 60'000};
  if (unit == "h")
    return milliseconds{n * 3'600'000};
  if (unit == "d")
    return milliseconds{n * 86'400'000};
  return errc::duration_malformed;
}

result<retry_schedule> parse_retry_schedule(std::string_view text) {
  retry_schedule out;
  while (!text.empty()) {
    auto comma = text.find(',');
    auto item = text.substr(0, comma);
    auto d = parse_duration(item);
    if (!d)
      return d.error();
    out.delays.push_back(*d);
    if (comma == std::string_view::npos)
      break;
    text.remove_prefix(comma + 1);
    if (text.empty())
      return errc::duration_malformed;
  }
  if (out.delays.empty())
    return errc::schedule_empty;
  return out;
}

retry_decision decide_retry(const retry_schedule& schedule, int failures_in_round,
                            const attempt_outcome& outcome, double jitter) {
  constexpr double max_jitter = 0.10;
  constexpr int gone_status = 410;
  if (outcome.status && *outcome.status >= 200 && *outcome.status < 300)
    return {verdict::delivered, milliseconds{0}};
  if (outcome.status == gone_status)
    return {verdict::gone, milliseconds{0}};
  if (failures_in_round < 1 || failures_in_round > static_cast<int>(schedule.delays.size()))
    return {verdict::failed, milliseconds{0}};
  auto delay = schedule.delays[static_cast<std::size_t>(failures_in_round - 1)];
  bool may_ask = outcome.status == 429 || outcome.status == 503;
  if (may_ask && outcome.retry_after)
    delay = std::max(delay, std::min(*outcome.retry_after, schedule.longest()));
  jitter = std::clamp(jitter, 0.0, 1.0);
  delay += milliseconds{
      static_cast<std::int64_t>(static_cast<double>(delay.count()) * max_jitter * jitter)};
  return {verdict::retry, delay};
}

} // namespace rundun::net
