#include "api/api_key.hpp"

#include "persistence/ids.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

namespace rundun::api {

std::string make_api_key() {
  return "rk_" + make_link_token();
}

std::string hash_api_key(std::string_view key) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), digest);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : digest) {
    out.push_back(hex[c >> 4]);
    out.push_back(hex[c & 0xf]);
  }
  return out;
}

bool api_key_matches(std::string_view presented, std::string_view stored_hash) {
  // Hashing first makes both sides the same length, so the comparison time says nothing
  // about the key.
  auto h = hash_api_key(presented);
  return h.size() == stored_hash.size() &&
         CRYPTO_memcmp(h.data(), stored_hash.data(), h.size()) == 0;
}

} // namespace rundun::api
