#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace rundun::net {

/// Standard base64 (RFC 4648 §4) with padding.
std::string base64_encode(std::string_view bytes);

/// Strict standard base64: the alphabet, correct padding, length a multiple of four.
/// Returns `std::nullopt` for anything else.
std::optional<std::string> base64_decode(std::string_view text);

} // namespace rundun::net
