#include "actors/run_directory.hpp"

#include "actors/messages.hpp"
#include "actors/run_actor.hpp"
#include "actors/run_logic.hpp"

#include <caf/all.hpp>

namespace rundun {

namespace {

using self_ptr = caf::stateful_actor<run_directory_state>*;

caf::actor spawn_run(self_ptr self, const std::shared_ptr<const engine_context>& ctx,
                     run_record run) {
  auto id = run.id.value;
  // Monitored, not linked. A link also puts an entry on the directory's own list of
  // attachables, which CAF 0.17 searches linearly each time a linked actor ends: with N run
  // actors resident, every run actor's exit cost O(N), and making a 1M-event backlog over
  // 100,000 runs spent a quarter of the engine's CPU there (benchmarks/README.md). A
  // monitor's entry lives on the run actor. The directory stops its run actors itself.
  auto a = self->spawn<caf::monitored>(run_actor, ctx, std::move(run));
  self->state.runs.insert_or_assign(std::move(id), a);
  return a;
}

/// Forgets the actor of `run`, but only if it is still `a`: a fresh actor may have taken
/// the run's place already.
void forget(self_ptr self, const std::string& run, const caf::actor_addr& a) {
  auto& runs = self->state.runs;
  if (auto it = runs.find(run); it != runs.end() && it->second.address() == a)
    runs.erase(it);
}

} // namespace

caf::behavior run_directory(self_ptr self, std::shared_ptr<const engine_context> ctx) {
  // The directory supervises its run actors. A child that ended with an error (an exception:
  // it answered its commands and logged why) is counted and forgotten; its siblings never
  // notice, and its run's next command reads the run from the store into a fresh actor.
  self->set_down_handler([self, ctx](caf::down_msg& msg) {
    // A run actor that ended normally said so with `ended` first: nothing to look up (a scan
    // of every resident run for each run that ends would put the directory on a hot path).
    if (!msg.reason)
      return;
    ctx->counters->run_actor_failures.fetch_add(1, std::memory_order_relaxed);
    auto& runs = self->state.runs;
    for (auto it = runs.begin(); it != runs.end(); ++it)
      if (it->second.address() == msg.source) {
        runs.erase(it);
        break;
      }
  });
  // The exit the engine sends the directory (shutdown) stops every resident run actor, then
  // the directory.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    for (auto& [id, a] : self->state.runs)
      self->send_exit(a, msg.reason);
    self->quit(msg.reason);
  });
  // One timer for all run actors: each sweep asks the resident ones to leave if idle.
  auto sweep_every =
      std::max<std::chrono::milliseconds>(ctx->run_idle_timeout / 2, std::chrono::milliseconds{10});
  self->delayed_send(self, sweep_every, idle_atom::value);
  return {
      [=](idle_atom) {
        for (auto& [id, a] : self->state.runs)
          self->send(a, idle_atom::value);
        self->delayed_send(self, sweep_every, idle_atom::value);
      },
      [=](command_atom, run_command& cmd) {
        auto& runs = self->state.runs;
        if (auto it = runs.find(cmd.run.value); it != runs.end())
          return self->send(it->second, command_atom::value, std::move(cmd));
        // No actor: the run is unknown, ended, or active without an actor yet (a command
        // that raced its activation). The store decides which.
        auto stored = ctx->store->find_run(cmd.run);
        if (!stored)
          return cmd.reply_to.deliver(command_reply::refusal(
              {error_kind::storage, "storage_error", stored.error().message(), {}}));
        if (!*stored)
          return cmd.reply_to.deliver(
              command_reply::refusal(not_found("run_not_found", "no run has this id")));
        auto& run = **stored;
        if (auto refusal = refuse_on_ended(run, cmd.action))
          return cmd.reply_to.deliver(command_reply::refusal(*refusal));
        self->send(spawn_run(self, ctx, std::move(run)), command_atom::value, std::move(cmd));
      },
      [=](webhook_off_atom, const run_id& run) {
        if (auto it = self->state.runs.find(run.value); it != self->state.runs.end())
          self->send(it->second, webhook_off_atom::value);
      },
      [=](ended_atom, const std::string& run) {
        if (auto& sender = self->current_sender())
          forget(self, run, sender->address());
      },
      [=](expire_atom, const std::string& id) {
        auto& runs = self->state.runs;
        if (auto it = runs.find(id); it != runs.end())
          return self->send(it->second, expire_atom::value);
        auto stored = ctx->store->find_run(run_id{id});
        if (stored && *stored && (*stored)->active())
          self->send(spawn_run(self, ctx, std::move(**stored)), expire_atom::value);
      },
  };
}

} // namespace rundun
