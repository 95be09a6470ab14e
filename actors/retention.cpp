#include "actors/retention.hpp"

#include "actors/messages.hpp"
#include "net/log.hpp"

#include <algorithm>

#include <caf/all.hpp>

namespace rundun {

namespace {

using self_ptr = caf::stateful_actor<retention_state>*;

/// Removes the next slice of due runs in one write; its outcome comes back as `pruned`.
void prune_slice(self_ptr self, const engine_context& ctx, const retention_settings& s) {
  auto& st = self->state;
  auto due = ctx.store->runs_ended_by(now() - s.period, st.kept_this_pass + s.runs_per_write);
  if (due) // the runs kept earlier in this pass come first in the index
    due->erase(due->begin(), due->begin() + static_cast<std::ptrdiff_t>(
                                                std::min(st.kept_this_pass, due->size())));
  if (!due || due->empty()) {
    if (!due)
      log::error("retention could not read the store", {{"reason", due.error().message()}});
    st.kept_this_pass = 0; // the pass is over
    self->delayed_send(self, s.check_interval, tick_atom::value);
    return;
  }
  struct tally {
    std::uint64_t runs = 0, events = 0, kept = 0;
  };
  auto counted = std::make_shared<tally>();
  bool full = due->size() == s.runs_per_write;
  auto handle = caf::actor_cast<caf::actor>(self);
  ctx.store->write(
      [ids = std::move(*due), counted](persistence::write_batch& b) -> boost::system::error_code {
        *counted = {}; // a write may run twice (see store::commit): count the last run only
        for (auto& id : ids) {
          persistence::run_removal r;
          if (auto ec = b.remove_run(id, r))
            return ec;
          counted->runs += r.removed;
          counted->events += r.events;
          counted->kept += r.kept;
        }
        return {};
      },
      [handle, counted, full](boost::system::error_code ec) {
        if (ec)
          return caf::anon_send(handle, pruned_atom::value, std::uint64_t{0}, std::uint64_t{0},
                                std::uint64_t{0}, false);
        caf::anon_send(handle, pruned_atom::value, counted->runs, counted->events, counted->kept,
                       full);
      });
}

} // namespace

std::chrono::milliseconds retention_check_interval(std::chrono::milliseconds period) {
  using namespace std::chrono_literals;
  return std::clamp<std::chrono::milliseconds>(period / 10, 50ms, 60'000ms);
}

caf::behavior retention(self_ptr self, std::shared_ptr<const engine_context> ctx,
                        retention_settings settings) {
  self->send(self, tick_atom::value);
  return {
      [=](tick_atom) { prune_slice(self, *ctx, settings); },
      [=](pruned_atom, std::uint64_t runs, std::uint64_t events, std::uint64_t kept, bool more) {
        auto& c = *ctx->counters;
        c.retention_runs_removed.fetch_add(runs, std::memory_order_relaxed);
        c.retention_events_removed.fetch_add(events, std::memory_order_relaxed);
        self->state.kept_this_pass += kept;
        // Go on (after a breath for the writer) while whole slices were due; else the pass is
        // over until the next check.
        if (more && runs + kept > 0)
          return self->delayed_send(self, settings.slice_pause, tick_atom::value);
        self->state.kept_this_pass = 0;
        self->delayed_send(self, settings.check_interval, tick_atom::value);
      },
  };
}

} // namespace rundun
