#pragma once

// The directory of run actors: one actor per active run, spawned when the run is created or
// recovered, or on demand when a command names an active run that has no actor.
//
// Receives:
//   (activate_atom, std::string run_json)    spawn the actor of an active run (idempotent)
//   (command_atom, run_command)              -> command_reply, forwarded to the run's actor;
//                                            answered here for unknown or ended runs
//   (ended_atom, std::string run_id)         a run actor is leaving
// Sends:
//   (command_atom, run_command)              to run actors, delegating the response

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
