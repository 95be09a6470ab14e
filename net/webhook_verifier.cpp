#include "net/webhook_verifier.hpp"

#include <charconv>

#include <openssl/crypto.h>

namespace rundun::net {

std::string_view to_string(verify_failure f) {
  switch (f) {
  case verify_failure::missing_header:
    return "missing webhook header";
  case verify_failure::bad_timestamp:
    return "webhook-timestamp is not Unix seconds";
  case verify_failure::timestamp_too_old:
    return "webhook-timestamp is too old";
  case verify_failure::timestamp_too_new:
    return "webhook-timestamp is in the future";
  case verify_failure::no_valid_signature:
    return "no valid signature";
  }
  return "unknown failure";
}

std::optional<webhook_verifier> webhook_verifier::from_secret(std::string_view secret) {
  auto key = parse_secret(secret);
  if (!key)
    return std::nullopt;
  return webhook_verifier{webhook_signer{*key}};
}

std::optional<verify_failure>
webhook_verifier::verify(std::string_view id, std::string_view timestamp,
                         std::string_view signatures, std::string_view body,
                         std::chrono::system_clock::time_point now) const {
  if (id.empty() || timestamp.empty() || signatures.empty())
    return verify_failure::missing_header;
  std::int64_t ts = 0;
  auto [end, ec] = std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), ts);
  if (ec != std::errc{} || end != timestamp.data() + timestamp.size())
    return verify_failure::bad_timestamp;
  auto now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  if (ts < now_s - webhook_tolerance.count())
    return verify_failure::timestamp_too_old;
  if (ts > now_s + webhook_tolerance.count())
    return verify_failure::timestamp_too_new;

  auto expected = signer_.sign(id, ts, body);
  // The header may carry several signatures (during a secret rotation), space-separated;
  // versions other than v1 are skipped.
  while (!signatures.empty()) {
    auto sp = signatures.find(' ');
    auto one = signatures.substr(0, sp);
    signatures = sp == std::string_view::npos ? std::string_view{} : signatures.substr(sp + 1);
    if (one.size() == expected.size() && one.starts_with("v1,") &&
        CRYPTO_memcmp(one.data(), expected.data(), one.size()) == 0)
      return std::nullopt;
  }
  return verify_failure::no_valid_signature;
}

} // namespace rundun::net
