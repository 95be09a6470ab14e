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
  // Linked: when the directory stops, its run actors stop with it (see engine::shutdown).
  auto a = self->spawn<caf::linked>(run_actor, ctx, std::move(run));
  self->state.runs.emplace(std::move(id), a);
  return a;
}

} // namespace

caf::behavior run_directory(self_ptr self, std::shared_ptr<const engine_context> ctx) {
  return {
      [=](command_atom, run_command& cmd) -> caf::result<command_reply> {
        auto& runs = self->state.runs;
        auto it = runs.find(cmd.run);
        caf::actor target;
        if (it != runs.end()) {
          target = it->second;
        } else {
          // No actor: the run is unknown, ended, or active without an actor yet (a command
          // that raced its activation). The store decides which.
          auto stored = ctx->store->find_run(run_id{cmd.run});
          if (!stored)
            return command_reply::refusal(
                {error_kind::storage, "storage_error", stored.error().message(), {}});
          if (!*stored)
            return command_reply::refusal(not_found("run_not_found", "no run has this id"));
          auto& run = **stored;
          if (!run.active()) {
            if (cmd.action == run_action::cancel)
              return command_reply::refusal(
                  conflict("run_not_active",
                           "the run is " + std::string(to_string(run.status)) + ", not active"));
            return command_reply::refusal(*refuse_if_ended(run));
          }
          target = spawn_run(self, ctx, std::move(run));
        }
        auto rp = self->make_response_promise();
        rp.delegate(target, command_atom::value, std::move(cmd));
        return rp;
      },
      [=](ended_atom, const std::string& run) { self->state.runs.erase(run); },
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
