#pragma once

// The actor of one active run: it owns the run's step state machine and its expiry timer.
//
// Receives:
//   (command_atom, run_command)              -> command_reply, once the change is durable
//   (expire_atom)                            its own expiry timer, or the expiry scheduler's
//   (idle_atom)                              its idle timer: leave after run_idle_timeout
//   (committed_atom, uint64_t ticket, bool ok)  the store's answer to one of its writes
// Sends:
//   (deliver_atom, delivery_order)           to the delivery directory, per subscribed event,
//                                            after the event is on disk
//   (ended_atom, std::string run_id)         to the run directory when the run has ended or
//                                            the actor has been idle; then it quits, so
//                                            finished and untouched runs cost no memory.

#include "actors/engine_context.hpp"
#include "actors/messages.hpp"
#include "persistence/model.hpp"

#include <map>
#include <memory>

#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>

namespace rundun {

struct run_actor_state {
  static inline const char* name = "rundun.run";

  struct pending_write {
    caf::response_promise promise;
    std::vector<delivery_order> orders;
    bool ends_run = false;
    bool has_promise = false;
  };

  run_record run;
  std::string endpoint;     ///< endpoint key of the run's webhook, empty without one
  std::string endpoint_url; ///< the webhook URL, normalised
  std::uint64_t next_ticket = 0;
  std::map<std::uint64_t, pending_write> pending;
  bool ended = false;
  std::chrono::steady_clock::time_point last_activity;
};

/// Spawned by the run directory with the run's current record.
caf::behavior run_actor(caf::stateful_actor<run_actor_state>* self,
                        std::shared_ptr<const engine_context> ctx, run_record run);

} // namespace rundun
