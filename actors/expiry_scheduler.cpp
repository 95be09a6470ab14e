#include "actors/expiry_scheduler.hpp"

#include "actors/messages.hpp"

#include <caf/all.hpp>

namespace rundun {

namespace {

using self_ptr = caf::stateful_actor<expiry_scheduler_state>*;
using namespace std::chrono_literals;

/// Runs expired per wake-up; the rest go at the next one, right after.
constexpr std::size_t expire_batch = 1024;
/// A due run stays in the index until its expiry is committed: look again after this, not
/// in a busy loop.
constexpr auto recheck_after = 100ms;

void arm(self_ptr self, time_point at) {
  auto& st = self->state;
  auto t = now();
  if (st.armed_for && *st.armed_for <= at && *st.armed_for > t)
    return; // an earlier wake-up is already set
  st.armed_for = at;
  self->delayed_send(self, std::max(at - t, std::chrono::milliseconds{0}), tick_atom::value);
}

void expire_due(self_ptr self, const engine_context& ctx) {
  auto& st = self->state;
  st.armed_for.reset();
  auto t = now();
  if (auto due = ctx.store->runs_expiring_by(t, expire_batch)) {
    for (auto& [id, at] : *due)
      self->send(ctx.run_directory, expire_atom::value, id.value);
    if (!due->empty())
      return arm(self, t + recheck_after);
  }
  if (auto next = ctx.store->next_expiry(); next && *next)
    arm(self, std::max(**next, t + recheck_after));
}

} // namespace

caf::behavior expiry_scheduler(self_ptr self, std::shared_ptr<const engine_context> ctx) {
  self->send(self, tick_atom::value); // runs that expired while the server was down go first
  return {
      [=](tick_atom) { expire_due(self, *ctx); },
      [=](watch_atom, std::int64_t expires_ms) { arm(self, from_unix_ms(expires_ms)); },
  };
}

} // namespace rundun
