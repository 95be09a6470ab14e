#pragma once

// Retention: removes ended runs (their events, attempts and photos) once they ended more
// than the retention period ago, and `Idempotency-Key`s once their 24 h are over (contract
// §4; keys expire even when runs are kept forever). It walks the store's `ended` index, oldest
// first, and removes a few runs per write, so that its work shares the group commits with delivery
// in small slices and never holds the writer long. A run whose events still wait for delivery is
// kept until they are done.
//
// Receives:
//   (tick_atom)                                   its timer: remove a slice of what is due
//   (pruned_atom, uint64_t runs, uint64_t events, uint64_t kept, uint64_t keys, bool more)
//                                                 a slice is committed (or failed: zeros)
// Sends:
//   nothing to other actors; removals go to the store, counts to engine_counters.

#include "actors/engine_context.hpp"

#include <memory>

#include <caf/stateful_actor.hpp>

namespace rundun {

/// The retention pace, chosen by the engine.
struct retention_settings {
  /// Ended runs older than this are removed; zero keeps them all.
  std::chrono::milliseconds period{0};
  /// How often the index is looked at when nothing was due.
  std::chrono::milliseconds check_interval{60'000};
  /// Runs removed in one write, and the pause between slices while more are due.
  std::size_t runs_per_write = 32;
  /// Expired keys removed in one write.
  std::size_t keys_per_write = 256;
  std::chrono::milliseconds slice_pause{10};
};

/// The check interval for a period: a tenth of it, between 50 ms and a minute (a minute
/// for a zero period, which only expires keys).
std::chrono::milliseconds retention_check_interval(std::chrono::milliseconds period);

struct retention_state {
  static inline const char* name = "rundun.retention";
  /// Runs kept in this pass (deliveries still pending). They stay at the head of the index,
  /// so the next slice starts after them; a new pass looks at them again.
  std::size_t kept_this_pass = 0;
};

caf::behavior retention(caf::stateful_actor<retention_state>* self,
                        std::shared_ptr<const engine_context> ctx, retention_settings settings);

} // namespace rundun
