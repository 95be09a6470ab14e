#pragma once

// What an `Idempotency-Key` (contract §4) remembers: which route it was used on, the
// fingerprint of the request, and what that request created, as it was created. Stored in
// the `idempotency` table under the key itself, in the same commit as what it created, and
// kept for `idempotency_window`. Pure encoding: no LMDB here.

#include "persistence/clock.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace rundun {

/// How long a key holds after its request was answered (contract §4).
inline constexpr std::chrono::hours idempotency_window{24};

/// The two routes that take a key.
enum class keyed_route : std::uint8_t { templates = 1, runs = 2 };

/// `POST /v1/templates` or `POST /v1/runs`, for messages.
std::string_view to_string(keyed_route r);

/// One used key.
struct idempotency_record {
  std::string key;
  keyed_route route = keyed_route::runs;
  /// What makes a second request the same as the first: a hash of its route and body bytes
  /// over HTTP, of its spec in the C++ API (see actors/idempotency.hpp).
  std::string fingerprint;
  /// When the key was stored; it expires `idempotency_window` later.
  time_point created_at;
  /// The run's webhook secret was generated, so its first answer showed it: a replay does too.
  bool secret_generated = false;
  /// What the request created, encoded as the store encodes it (record_codec.hpp): a
  /// template, or a run in its state at creation.
  std::string created;

  bool expired_at(time_point t) const { return t >= created_at + idempotency_window; }
};

/// The value stored under the key (the key itself is the LMDB key).
std::string encode_value(const idempotency_record& r);

/// The inverse of `encode_value`; `std::nullopt` for bytes it did not make.
std::optional<idempotency_record> decode_idempotency(std::string_view key, std::string_view value);

} // namespace rundun
