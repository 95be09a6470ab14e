// libFuzzer target: Retry-After values and retry schedules.
#include "net/retry_after.hpp"
#include "net/retry_policy.hpp"

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace rundun::net;
  std::string_view text{reinterpret_cast<const char*>(data), size};
  auto asked = parse_retry_after(
      text, std::chrono::system_clock::time_point{std::chrono::seconds{1'700'000'000}});
  if (auto schedule = parse_retry_schedule(text)) {
    for (int failures = 0; failures <= schedule->max_attempts(); ++failures)
      (void)decide_retry(*schedule, failures, {503, asked}, 0.5);
  }
  (void)decide_retry(default_retry_schedule(), 1, {429, asked}, 0.999);
  return 0;
}
