#pragma once

// The one timer for runs that have no actor: it wakes at the earliest expiry in the store's
// expiry index and has the run directory expire what is due. Run actors come and go (they
// leave when idle), so a run's expiry cannot depend on its actor being resident; one timer
// over an ordered LMDB index costs nothing per run.
//
// Receives:
//   (tick)                     its own timer: expire what is due, then sleep until the next
//   (watch_atom, int64_t ms)   a new run expires at `ms`: wake earlier if that is sooner
// Sends:
//   (expire_atom, std::string run_id)   to the run directory, per due run

#include "actors/engine_context.hpp"

#include <memory>
#include <optional>

#include <caf/stateful_actor.hpp>

namespace rundun {

struct expiry_scheduler_state {
  static inline const char* name = "rundun.expiry_scheduler";
  std::optional<time_point> armed_for;
};

caf::behavior expiry_scheduler(caf::stateful_actor<expiry_scheduler_state>* self,
                               std::shared_ptr<const engine_context> ctx);

} // namespace rundun
