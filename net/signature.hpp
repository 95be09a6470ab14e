#pragma once

#include <cstdint>
#include <memory>
#include <optional>
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

/// Signs webhook payloads the Standard Webhooks way:
/// `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")).
///
/// The HMAC key is set once and the prepared context copied per signature, which is about
/// twice as fast as a one-shot HMAC. `sign` only reads the prepared context (it signs with
/// a copy), so several threads may sign with one signer at once: the engine's signers are
/// shared by its endpoint actors (see signer_cache.hpp).
class webhook_signer {
public:
  /// `key` is the decoded secret (see `parse_secret`).
  explicit webhook_signer(std::string_view key);
  ~webhook_signer();
  webhook_signer(webhook_signer&&) noexcept;
  webhook_signer& operator=(webhook_signer&&) noexcept;

  /// The value of the `webhook-signature` header.
  std::string sign(std::string_view msg_id, std::int64_t timestamp, std::string_view body) const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace rundun::net
