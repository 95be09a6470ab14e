#pragma once

// The recovery of one endpoint (`POST /v1/endpoints/recover`): it sends that endpoint's
// failed events created since a given time again, oldest first, a small step at a time, so
// the store's writer and the endpoint's other deliveries never wait on it for long. The job
// is kept in the store with each step, so a restart resumes it where it stood.
//
// Each step marks its events pending, due now, in one commit (as a redelivery does), then
// wakes the endpoint's actor, which pages them in and sends each run's events in creation
// order (see delivery_job::recovery).
//
// Receives:
//   (recover_atom, int64_t since_ms)          -> recover_reply: counts the events, keeps the
//                                             job, and answers once the job is durable
//   (recover_atom)                            resume the job the store holds
//   (recover_atom, uint64_t start, bool ok)   the job of a start is durable (or failed)
//   (recover_atom, bool ok)                   a step's commit is durable (or failed)
//   (tick_atom)                               try a step again after the store failed
//   (leave_atom)                              the directory's go-ahead once it is done: quit
// Sends:
//   (wake_atom, key, url)                     to the delivery directory after each step
//   (recover_atom, key, uint64_t taken)       to the delivery directory once it has no job:
//                                             the directory lets it go only if it sent it no
//                                             more requests than `taken`

#include "actors/engine_context.hpp"
#include "actors/messages.hpp"

#include <cstdint>
#include <map>
#include <string>

#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>

namespace rundun {

struct recovery_actor_state {
  static inline const char* name = "rundun.recovery";
  std::string key, url;
  /// A step's commit is on its way: no second step starts meanwhile.
  bool stepping = false;
  /// Requests whose job is being stored, with their answer, by start number.
  std::uint64_t starts = 0;
  std::map<std::uint64_t, std::pair<caf::response_promise, recover_reply>> waiting;
  /// Requests taken from the directory, for the leave handshake.
  std::uint64_t taken = 0;
  bool asked_to_leave = false;
};

/// Spawned by the delivery directory for the endpoint `key` at `url`.
caf::behavior recovery_actor(caf::stateful_actor<recovery_actor_state>* self,
                             std::shared_ptr<const engine_context> ctx, std::string key,
                             std::string url);

} // namespace rundun
