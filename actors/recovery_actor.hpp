#pragma once

// The recovery of one endpoint (`POST /v1/endpoints/recover`): it sends that endpoint's
// failed events created since a given time again, oldest first, a small step at a time, so
// the store's writer and the endpoint's other deliveries never wait on it for long. The job
// is kept in the store with each step, so a restart resumes it where it stood. One job per
// endpoint: a start while a recovery still runs is refused (`recovery_in_progress`).
//
// It reads nothing itself: every scan of the store (a start's check and count, a step's
// page of failed events) runs on the engine's read thread, one bounded page per task
// (actors/recovery_reads.hpp), and comes back as a message. So two large recoveries hold
// neither actor thread, and runs and endpoints go on beside them.
//
// A start: check and count page by page on the read thread -> store the job (writer) ->
// answer -> steps. A step: on the read thread, read the job and its next page, plan it, and
// queue its commit on the store's writer, which marks the events pending, due now (as a
// redelivery does); once durable, the endpoint's actor is woken and pages them in, each
// run's events in creation order (see delivery_job::recovery).
//
// Receives:
//   (recover_atom, int64_t since_ms)          -> recover_reply: checks that no recovery
//                                             runs, counts the events, keeps the job, and
//                                             answers once the job is durable
//   (recover_atom, recovery_counted)          a page of a start's count (read thread)
//   (recover_atom, uint64_t start, bool ok)   the job of a start is durable (or failed)
//   (recover_atom)                            resume the job the store holds
//   (recover_atom, recovery_stepped)          how a step ended (read thread or writer)
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
#include <optional>
#include <string>

#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>

namespace rundun {

struct recovery_actor_state {
  static inline const char* name = "rundun.recovery";
  std::string key, url;
  /// A start being checked and counted (on the read thread) or stored: at most one, and
  /// while it lasts another start is refused as one still running.
  struct start {
    std::uint64_t number = 0;
    caf::response_promise promise;
    std::int64_t since_ms = 0;
    recover_reply counted;
  };
  std::optional<start> starting;
  std::uint64_t starts = 0;
  /// A step is on the read thread or the writer: no second step starts meanwhile.
  bool stepping = false;
  /// A step was asked for while one was under way (a job was just stored): step once more
  /// when it ends, even if it found no job.
  bool step_again = false;
  /// Requests taken from the directory, for the leave handshake.
  std::uint64_t taken = 0;
  bool asked_to_leave = false;
};

/// Spawned by the delivery directory for the endpoint `key` at `url`.
caf::behavior recovery_actor(caf::stateful_actor<recovery_actor_state>* self,
                             std::shared_ptr<const engine_context> ctx, std::string key,
                             std::string url);

} // namespace rundun
