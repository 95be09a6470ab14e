#pragma once

// The actor of one active run: it owns the run's step state machine and its expiry timer.
//
// One write per run is in flight at a time. A command that arrives while the run's previous
// change is being committed waits in the actor, and is applied to the run once that change
// is durable, or, if it failed, to the run as the store has it. So a change whose client
// was told `500` is never on disk, and every command gets an answer.
//
// Receives:
//   (command_atom, run_command)              answers the command's `reply_to` once the
//                                            change is durable (or at once when refused)
//   (expire_atom)                            its own expiry timer, or the expiry scheduler's
//   (webhook_off_atom)                       a 410 from its endpoint turned the webhook off
//                                            (from the endpoint actor, through the directory)
//   (idle_atom)                              the directory's sweep: leave if idle for
//                                            run_idle_timeout
//   (committed_atom, uint64_t ticket, std::string failure, uint64_t commit)  the store's
//                                            answer to its write (empty: durable; else why
//                                            it failed), with the commit's mark
// Sends:
//   (deliver_atom, delivery_order)           to the delivery directory, per subscribed event,
//                                            after the event is on disk
//   (ended_atom, std::string run_id)         to the run directory when the run has ended or
//                                            the actor has been idle; then it quits, so
//                                            finished and untouched runs cost no memory.
// Fails:
//   an exception in a handler answers every waiting command with `500 engine_error` and
//   ends the actor with that error; the run directory counts it, and the next command
//   brings a fresh actor that reads the run from the store.

#include "actors/engine_context.hpp"
#include "actors/messages.hpp"
#include "persistence/model.hpp"

#include <deque>
#include <memory>
#include <optional>

#include <caf/stateful_actor.hpp>

namespace rundun {

struct run_actor_state {
  static inline const char* name = "rundun.run";

  /// The write in flight: its answer waits for the commit (its events' delivery orders went
  /// to their endpoint with the write's commit_gate).
  struct pending_write {
    std::uint64_t ticket = 0;
    /// The command's caller (empty for the expiry).
    command_reply_to reply;
  };

  /// Work that waits for the write in flight: a command (it carries its caller), or (no
  /// command) the expiry.
  struct waiting_work {
    std::optional<run_command> command;
  };

  run_record run;
  std::string endpoint;     ///< endpoint key of the run's webhook, empty without one
  std::string endpoint_url; ///< the webhook URL, normalised
  /// A 410 turned the run's webhook off: its new events fail at once, unsent.
  bool webhook_off = false;
  std::uint64_t next_ticket = 0;
  std::optional<pending_write> writing;
  std::deque<waiting_work> waiting;
  /// The caller of the command being handled right now, while its handler runs.
  command_reply_to in_hand;
  bool ended = false;
  std::chrono::steady_clock::time_point last_activity;
};

/// Spawned by the run directory with the run's current record.
caf::behavior run_actor(caf::stateful_actor<run_actor_state>* self,
                        std::shared_ptr<const engine_context> ctx, run_record run);

} // namespace rundun
