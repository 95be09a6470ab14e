// libFuzzer target: webhook URL parsing and the address guard.
#include "net/destination_guard.hpp"
#include "net/url.hpp"

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace rundun::net;
  std::string_view text{reinterpret_cast<const char*>(data), size};
  if (auto u = parse_url(text)) {
    // The normalised form names the endpoint in the store: it must parse back to itself.
    auto again = parse_url(u->normalized());
    if (!again || again->normalized() != u->normalized())
      __builtin_trap();
    (void)endpoint_key(*u);
    if (auto ip = parse_ip_literal(u->host))
      (void)is_public(*ip);
  }
  if (auto ip = parse_ip_literal(text))
    (void)is_public(*ip);
  return 0;
}
