#pragma once

// The directory of endpoint actors: one per endpoint key, spawned on first use.
//
// Receives:
//   (deliver_atom, delivery_order)                     forwarded to the endpoint's actor
//   (wake_atom, std::string key, std::string url)      spawn an endpoint with work on disk
//   (redeliver_atom, std::string key, std::string url, std::string event_id)
//                                                      -> redeliver_reply, from the endpoint
//   (drain_atom)                                       -> bool, once no attempt is in flight
//   (stats_atom)                                       -> std::vector<endpoint_stats>
// Sends:
//   the same messages to endpoint actors.

#include "actors/engine_context.hpp"

#include <memory>
#include <string>
#include <unordered_map>

#include <caf/actor.hpp>
#include <caf/stateful_actor.hpp>

namespace rundun {

struct delivery_directory_state {
  static inline const char* name = "rundun.delivery_directory";
  std::unordered_map<std::string, caf::actor> endpoints;
};

caf::behavior delivery_directory(caf::stateful_actor<delivery_directory_state>* self,
                                 std::shared_ptr<const engine_context> ctx);

} // namespace rundun
