#include "api/list_cursor.hpp"

#include "net/base64.hpp"
#include "persistence/big_endian.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace rundun::api {

namespace {

/// Bytes of the HMAC kept in a cursor: 128 bits, beyond guessing.
constexpr std::size_t mac_bytes = 16;
/// The first byte of every cursor; a later layout gets another.
constexpr char cursor_version = '1';

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &n);
  return std::string(reinterpret_cast<const char*>(out), n);
}

/// base64url without padding (RFC 4648 §5): a cursor goes into a query string as it is.
std::string to_base64url(std::string_view bytes) {
  auto s = net::base64_encode(bytes);
  while (!s.empty() && s.back() == '=')
    s.pop_back();
  for (auto& c : s)
    c = c == '+' ? '-' : c == '/' ? '_' : c;
  return s;
}

std::optional<std::string> from_base64url(std::string_view text) {
  std::string s(text);
  for (auto& c : s) {
    if (c == '+' || c == '/' || c == '=')
      return std::nullopt;
    c = c == '-' ? '+' : c == '_' ? '/' : c;
  }
  while (s.size() % 4)
    s.push_back('=');
  return net::base64_decode(s);
}

} // namespace

cursor_codec::cursor_codec(std::string_view api_key_hash)
    : key_(hmac_sha256(api_key_hash, "rundun list cursor")) {}

std::string cursor_codec::mac(std::string_view payload, std::string_view filters) const {
  std::string data(payload);
  data.push_back('\0');
  data.append(filters);
  return hmac_sha256(key_, data).substr(0, mac_bytes);
}

std::string cursor_codec::encode(list_kind kind, std::string_view filters,
                                 const list_position& at) const {
  std::string payload{cursor_version, static_cast<char>(kind)};
  payload += persistence::big_endian(static_cast<std::uint64_t>(at.ms));
  payload += at.id;
  return to_base64url(payload + mac(payload, filters));
}

std::optional<list_position> cursor_codec::decode(list_kind kind, std::string_view filters,
                                                  std::string_view cursor) const {
  auto bytes = from_base64url(cursor);
  if (!bytes || bytes->size() < 2 + 8 + mac_bytes)
    return std::nullopt;
  std::string_view b{*bytes};
  auto payload = b.substr(0, b.size() - mac_bytes);
  auto expected = mac(payload, filters);
  if (CRYPTO_memcmp(expected.data(), b.data() + payload.size(), mac_bytes) != 0)
    return std::nullopt;
  if (payload[0] != cursor_version || payload[1] != static_cast<char>(kind))
    return std::nullopt;
  return list_position{static_cast<std::int64_t>(persistence::read_big_endian(payload.substr(2))),
                       std::string(payload.substr(10))};
}

} // namespace rundun::api
