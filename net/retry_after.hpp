#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace rundun::net {

/// Parses a `Retry-After` value: delta-seconds (`120`) or an HTTP date
/// (`Wed, 21 Oct 2015 07:28:00 GMT`, also the obsolete RFC 850 and asctime forms).
/// A date in the past is a zero delay. Returns `std::nullopt` for anything else.
std::optional<std::chrono::milliseconds>
parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now);

} // namespace rundun::net
