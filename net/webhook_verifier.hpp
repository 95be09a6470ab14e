#pragma once

#include "net/error.hpp"
#include "net/signature.hpp"

#include <chrono>
#include <optional>
#include <string_view>

namespace rundun::net {

/// How far a delivery's `webhook-timestamp` may be from the receiver's clock, either way,
/// before it is refused as a replay (Standard Webhooks' default).
constexpr std::chrono::seconds webhook_tolerance{300};

/// Why a delivery did not verify.
enum class verify_failure {
  missing_header,     ///< `webhook-id`, `webhook-timestamp` or `webhook-signature` is empty
  bad_timestamp,      ///< not a number of Unix seconds
  timestamp_too_old,  ///< older than the tolerance: a replay, or a clock far off
  timestamp_too_new,  ///< newer than the tolerance
  no_valid_signature, ///< no `v1,` signature in the header matches the body
};

std::string_view to_string(verify_failure f);

/// Checks Standard Webhooks deliveries for one endpoint secret, as a receiver does: the
/// timestamp within the tolerance, then any of the space-separated `v1,<base64>` signatures
/// equal (in constant time) to the HMAC of `{id}.{timestamp}.{body}`. The same code signs
/// what rundund sends, so a receiver built with the project verifies with it.
///
/// Not thread-safe (it holds a prepared HMAC context): one per thread or per connection.
class webhook_verifier {
public:
  /// A verifier for a `whsec_…` secret; `std::nullopt` when the secret is not in that form.
  static std::optional<webhook_verifier> from_secret(std::string_view secret);

  /// Verifies one delivery. Returns nothing on success, else why it failed.
  std::optional<verify_failure> verify(std::string_view id, std::string_view timestamp,
                                       std::string_view signatures, std::string_view body,
                                       std::chrono::system_clock::time_point now) const;

private:
  explicit webhook_verifier(webhook_signer s) : signer_(std::move(s)) {}
  webhook_signer signer_;
};

} // namespace rundun::net
