#pragma once

// An operator's notice (contract §7, `--operator-webhook`) as the store keeps it until it is
// delivered or has failed its last attempt: `endpoint.failing`, `endpoint.disabled` or
// `endpoint.recovered`, about one webhook URL. The store makes it from an owed_notice in the
// commit that changes the endpoint's figures (so each is made once per run of failures, as
// the contract wants), and the notifier actor sends and retries it. Pure encoding here.

#include "persistence/endpoint_stats.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rundun {

struct operator_notice {
  /// Its place in the `notices` table: the store's sequence number when it was made.
  std::uint64_t seq = 0;
  /// `evt-…`: the same on every attempt, for the operator to deduplicate by.
  std::string id;
  notice_type type = notice_type::failing;
  time_point created_at;
  /// The endpoint's normalised URL.
  std::string url;
  /// The envelope's `data` object, serialised once when the notice is made.
  std::string data_json;
  /// Attempts made so far, and when the next one is due.
  int attempts = 0;
  time_point due;
};

/// The notice that `owed` stands for, about the endpoint at `url`, with its `data`:
/// `url` and `failing_since`, then `last_attempt` (failing), `disabled_at` and
/// `failed_events` (disabled), or `recovered_at` (recovered).
operator_notice make_notice(const owed_notice& owed, std::string url, std::uint64_t seq,
                            std::string id);

std::string encode(const operator_notice& n);
/// The inverse of `encode`; `std::nullopt` for bytes it did not make.
std::optional<operator_notice> decode_notice(std::string_view text);

} // namespace rundun
