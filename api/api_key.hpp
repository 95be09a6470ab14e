#pragma once

#include <string>
#include <string_view>

namespace rundun::api {

/// A fresh API key: `rk_` + 32 random bytes in base64url (256 bits).
std::string make_api_key();

/// The SHA-256 of a key, as hex. Only this is stored: the key itself never is.
std::string hash_api_key(std::string_view key);

/// Compares a presented key with a stored hash in constant time.
bool api_key_matches(std::string_view presented, std::string_view stored_hash);

} // namespace rundun::api
