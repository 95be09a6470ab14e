#pragma once

// Idempotent creation (contract §4), as pure logic: what a valid key is, what makes two
// requests the same, what a stored key says about a new request, and which keys are being
// handled right now. The engine (engine_idempotency.cpp) stores the keys; the HTTP API
// (api/) reads the header and fingerprints the body.

#include "actors/specs.hpp"
#include "persistence/domain_error.hpp"
#include "persistence/idempotency_record.hpp"

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

namespace rundun {

/// The longest key (contract §4).
inline constexpr std::size_t max_idempotency_key_chars = 255;

/// A creation's `Idempotency-Key`, as the engine's keyed commands take it.
struct idempotency_key {
  /// 1..255 printable ASCII characters.
  std::string key;
  /// What makes a second request with the key the same as the first. The HTTP API passes
  /// `request_fingerprint` of the route and body bytes; empty, the engine takes
  /// `spec_fingerprint` of the spec.
  std::string fingerprint;
};

/// None for a valid key; else the `400 invalid_idempotency_key` that names the header and
/// says what is allowed.
std::optional<domain_error> check_idempotency_key(std::string_view key);

/// SHA-256 over the route and the request's body bytes: the HTTP API's fingerprint.
std::string request_fingerprint(keyed_route route, std::string_view body);

/// The longest fingerprint stored as given (the key's record has one byte for its length).
inline constexpr std::size_t max_stored_fingerprint_bytes = 64;

/// A caller's fingerprint as stored: as given up to max_stored_fingerprint_bytes, else its
/// SHA-256 (with the route).
std::string caller_fingerprint(keyed_route route, std::string_view given);

/// SHA-256 over the route and every field of the spec, each length-prefixed: the C++ API's
/// fingerprint when its caller gives none.
std::string spec_fingerprint(const template_spec& spec);
std::string spec_fingerprint(const run_spec& spec);

/// What a stored key says about a new request with it.
enum class key_verdict {
  fresh,  ///< no live record: handle the request, and store the key with what it creates
  replay, ///< the same route and fingerprint: answer what the first request created
  reused, ///< another route or body: `409 idempotency_key_reused`
};

/// Judges a request by the key's record as stored (none, or expired at `now`: fresh).
key_verdict judge(const std::optional<idempotency_record>& stored, keyed_route route,
                  std::string_view fingerprint, time_point now);

/// The `409` answers of contract §4, with messages that say what to do.
domain_error key_reused(std::string_view key, keyed_route stored_route, keyed_route route);
domain_error key_in_progress(std::string_view key);

/// The keys whose first request is being handled now, on any node's threads: a second
/// request with one of them is `409 idempotency_key_in_progress`. Bounded by the creations in
/// flight, which the store's queue limit bounds. Thread-safe.
class keys_in_progress {
public:
  /// Takes `key` for a request; false when another request has it.
  bool claim(const std::string& key);
  /// Gives `key` back, once its request is answered (or refused).
  void release(const std::string& key);
  /// Keys held now, for /metrics.
  std::size_t size() const;

private:
  mutable std::mutex mtx_;
  std::unordered_set<std::string> keys_;
};

} // namespace rundun
