#pragma once

// An event's delivery log: how its delivery state changed after it was made. An event's
// record (`events`) is written once, at creation, and never rewritten; each later change (an
// attempt and what it decided, or a change without an attempt: failed unsent, redelivered,
// recovered) is a small binary record appended to the `deliveries` table, keyed by
// (event seq, change seq), both big-endian. So an attempt's result is one put near the
// tree's right edge, with no read and no re-encoding of the event, and the event's current
// state is its record with its log folded over it (`fold`).
//
// Pure functions over bytes: no LMDB here (the store keeps the table).

#include "persistence/model.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rundun::persistence {

/// One change of an event's delivery state: the attempt it made, if any, and the state's
/// scalars after it.
struct delivery_step {
  std::optional<attempt_record> attempt;
  delivery_status status = delivery_status::pending;
  std::optional<time_point> next_attempt_at;
  std::optional<std::string> error;
  int round_failures = 0;
};

/// An attempt's result as the endpoint's actor knows it: enough to store it without
/// reading the event (see write_batch::append_delivery).
struct delivery_change {
  /// The event as the endpoint has it, before this step: pending, waiting for its first
  /// attempt (see first_attempts.hpp) or due at `before.delivery.next_attempt_at` in the
  /// pending index, without its earlier attempts (the step adds only its own).
  event_record before;
  delivery_step step;
};

/// True when `c` is an event's first attempt (number 1): the event waited for it in
/// memory, not in the pending index.
bool is_first_attempt(const delivery_change& c);

/// The step that takes `before` to `after`, when `after` adds at most one attempt.
delivery_step step_between(const delivery_state& before, const delivery_state& after);

/// The key of a step: the event's seq, then the step's own (a fresh store sequence number,
/// so that an event's steps sort in the order they were made).
std::string step_key(std::uint64_t event_seq, std::uint64_t step_seq);
/// The first 8 bytes of every step key of the event `event_seq`.
std::string step_prefix(std::uint64_t event_seq);

std::string encode(const delivery_step& s);
/// None for bytes that are not a step this version wrote.
std::optional<delivery_step> decode_step(std::string_view bytes);

/// Applies `s` to `d`: its attempt is appended, its scalars replace `d`'s.
void fold(delivery_state& d, delivery_step s);

} // namespace rundun::persistence
