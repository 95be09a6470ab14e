#pragma once

// The directory of endpoint actors: one per endpoint key, spawned on first use, gone again
// once idle; and of recovery actors, one per endpoint with a recovery in progress. It supervises
// them: one that fails is counted and started again from the store.
//
// Receives:
//   (deliver_atom, delivery_order)                     forwarded to the endpoint's actor
//   (wake_atom, std::string key, std::string url)      spawn an endpoint with work on disk, or
//                                                      make a live one look at the disk
//   (redeliver_atom, std::string key, std::string url, std::string event_id)
//                                                      -> redeliver_reply, from the endpoint
//   (recover_atom, key, url, int64_t since_ms)         -> recover_reply, from the endpoint's
//                                                      recovery actor (spawned for it)
//   (recover_atom, key, url)                           resume the endpoint's stored recovery
//   (recover_atom, key, uint64_t taken)                from a recovery actor with no job left
//   (idle_atom, string key, uint64_t work_taken)       from an idle endpoint actor
//   (idle_atom)                                        its sweep timer (endpoint_idle_timeout / 2)
//   (drain_atom)                                       -> bool, once no attempt is in flight
// Sends:
//   (idle_atom) to every endpoint actor per sweep;
//   the same messages to endpoint actors; to an idle one, leave_atom when it has taken all
//   the work sent to it (the directory forgets it first), else (idle_atom, true): stay.

#include "actors/engine_context.hpp"

#include <memory>
#include <string>
#include <unordered_map>

#include <caf/actor.hpp>
#include <caf/stateful_actor.hpp>

namespace rundun {

struct delivery_directory_state {
  static inline const char* name = "rundun.delivery_directory";
  struct endpoint_entry {
    caf::actor actor;
    std::string url;
    /// Messages with work sent to the actor: deliver, redeliver, wake.
    std::uint64_t work_sent = 0;
  };
  std::unordered_map<std::string, endpoint_entry> endpoints;
  /// The recovery actors, by endpoint key, with the requests sent to each.
  struct recovery_entry {
    caf::actor actor;
    std::string url;
    std::uint64_t sent = 0;
  };
  std::unordered_map<std::string, recovery_entry> recoveries;
};

caf::behavior delivery_directory(caf::stateful_actor<delivery_directory_state>* self,
                                 std::shared_ptr<const engine_context> ctx);

} // namespace rundun
