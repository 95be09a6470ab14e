#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace rundun::net {

/// Webhook secrets hold 24 to 64 random bytes (Standard Webhooks `whsec_` + base64).
constexpr std::size_t min_secret_bytes = 24;
constexpr std::size_t max_secret_bytes = 64;
constexpr std::string_view secret_prefix = "whsec_";

/// The key bytes of a `whsec_…` secret, or `std::nullopt` when it is not in that format or
/// its key is not 24..64 bytes long.
std::optional<std::string> parse_secret(std::string_view secret);

/// A fresh `whsec_` secret with 32 random bytes.
std::string make_secret();

/// Characters in one signature: `v1,` and the padded base64 of a 32-byte HMAC-SHA256.
constexpr std::size_t signature_size = 47;

/// Signs webhook payloads the Standard Webhooks way:
/// `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")).
///
/// The key is absorbed once, at construction: the SHA-256 states after the inner and the
/// outer key block are kept, and each signature starts from copies of them taken by value.
/// A signature costs hashing its message and two blocks more, with no heap allocation and
/// no OpenSSL context set-up (see signature.cpp). `sign` only reads the kept states, so
/// several threads may sign with one signer at once: the engine's signers are shared by its
/// endpoint actors (see signer_cache.hpp).
class webhook_signer {
public:
  /// `key` is the decoded secret (see `parse_secret`); a key longer than a SHA-256 block
  /// (64 bytes) is hashed first, as HMAC prescribes.
  explicit webhook_signer(std::string_view key);
  ~webhook_signer();
  webhook_signer(webhook_signer&&) noexcept;
  webhook_signer& operator=(webhook_signer&&) noexcept;

  /// The value of the `webhook-signature` header (one allocation: the string returned).
  std::string sign(std::string_view msg_id, std::int64_t timestamp, std::string_view body) const;

  /// The same value written into `out`, with no heap allocation; returns a view of `out`.
  /// For callers that keep the signature in a buffer of their own.
  std::string_view sign_into(std::span<char, signature_size> out, std::string_view msg_id,
                             std::int64_t timestamp, std::string_view body) const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace rundun::net
