#pragma once

// Where a run command's answer goes: the caller's callback, called once, by the actor that
// did the work (the run actor after its commit, or the run directory when it refuses). No
// actor is spawned per command to wait for a reply, and no extra hop carries it back.
//
// A command can be dropped unanswered: the run actor it was forwarded to quit (its run just
// ended, or it went idle) while the command was on its way, and CAF drops messages to an
// actor that is gone. Then the last copy of the slot runs its `dropped` function instead,
// which the engine uses to send the command once more (the directory answers from the
// store). So every command gets exactly one answer on every path.

#include "actors/command_reply.hpp"

#include <functional>
#include <memory>

#include <caf/meta/type_name.hpp>

namespace rundun {

class command_reply_to {
public:
  using answer_fn = std::function<void(command_reply&&)>;
  using dropped_fn = std::function<void()>;

  command_reply_to() = default;

  /// `answer` gets the reply; `dropped` runs instead if every copy of this slot is destroyed
  /// unanswered. Both run on whichever engine thread answers or drops; neither may throw.
  command_reply_to(answer_fn answer, dropped_fn dropped);

  /// Answers once; later calls do nothing. Safe from any thread.
  void deliver(command_reply reply) const;

  /// False for a slot that has no caller (default-made, or one that crossed a node).
  explicit operator bool() const { return state_ != nullptr; }

private:
  struct state;
  std::shared_ptr<state> state_;
};

/// A slot serialises as nothing: the callback lives in this process. Commands that cross
/// nodes travel as forwarded HTTP requests (api/forwarded_request.hpp), never as this
/// message, so a slot that arrives from another node is empty.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, command_reply_to&) {
  return f(caf::meta::type_name("command_reply_to"));
}

} // namespace rundun
