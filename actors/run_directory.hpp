#pragma once

// The directory of run actors: at most one actor per active run, spawned on demand when a
// command (or the expiry scheduler) names an active run that has none. Actors leave when
// their run ends or when they have been idle (virtual actors, as in Orleans): an open run
// costs memory only while someone works on it.
//
// Receives:
//   (command_atom, run_command)              forwarded to the run's actor; its `reply_to`
//                                            is answered here for unknown or ended runs
//   (ended_atom, std::string run_id)         a run actor is leaving (its run ended, or idle)
//   (expire_atom, std::string run_id)        from the expiry scheduler: expire a due run,
//                                            activating its actor if it has none
//   (webhook_off_atom, run_id)               an endpoint's 410 turned the run's webhook off:
//                                            told to the run's actor if it is resident
//   (idle_atom)                              its sweep timer (every run_idle_timeout / 2)
// Sends:
//   (command_atom, run_command)              to run actors, which answer its `reply_to`
//   (idle_atom)                              to each resident run actor per sweep

#include "actors/engine_context.hpp"
#include "persistence/ids.hpp"

#include <memory>
#include <unordered_map>

#include <caf/actor.hpp>
#include <caf/stateful_actor.hpp>

namespace rundun {

struct run_directory_state {
  static inline const char* name = "rundun.run_directory";
  std::unordered_map<std::string, caf::actor> runs;
};

caf::behavior run_directory(caf::stateful_actor<run_directory_state>* self,
                            std::shared_ptr<const engine_context> ctx);

} // namespace rundun
