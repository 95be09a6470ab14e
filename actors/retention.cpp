#include "actors/retention.hpp"

#include "actors/messages.hpp"
#include "net/log.hpp"

#include <algorithm>

#include <caf/all.hpp>

namespace rundun {

namespace {

using self_ptr = caf::stateful_actor<retention_state>*;

/// The ended runs due for removal in the next slice, after those kept earlier in this pass;
/// none when runs are kept forever (a zero period) or the index cannot be read.
std::vector<run_id> runs_due(const engine_context& ctx, const retention_settings& s,
                             std::size_t kept_this_pass) {
  if (s.period.count() <= 0)
    return {};
  auto due = ctx.store->runs_ended_by(now() - s.period, kept_this_pass + s.runs_per_write);
  if (!due) {
    log::error("retention could not read the store", {{"reason", due.error().message()}});
    return {};
  }
  // The runs kept earlier in this pass come first in the index.
  due->erase(due->begin(),
             due->begin() + static_cast<std::ptrdiff_t>(std::min(kept_this_pass, due->size())));
  return std::move(*due);
}

/// Whether some `Idempotency-Key` was stored before `before` (so that it has expired).
bool keys_due(const engine_context& ctx, time_point before) {
  auto oldest = ctx.store->oldest_idempotency_key();
  return oldest && *oldest && **oldest < before;
}

/// Removes the next slice of due runs, and of expired `Idempotency-Key`s, in one write; its
/// outcome comes back as `pruned`.
void prune_slice(self_ptr self, const engine_context& ctx, const retention_settings& s) {
  auto& st = self->state;
  auto ids = runs_due(ctx, s, st.kept_this_pass);
  auto keys_before = now() - idempotency_window;
  if (ids.empty() && !keys_due(ctx, keys_before)) {
    st.kept_this_pass = 0; // the pass is over
    self->delayed_send(self, s.check_interval, tick_atom::value);
    return;
  }
  struct tally {
    std::uint64_t runs = 0, events = 0, kept = 0;
    std::size_t keys = 0;
  };
  auto counted = std::make_shared<tally>();
  bool runs_full = ids.size() == s.runs_per_write;
  auto handle = caf::actor_cast<caf::actor>(self);
  ctx.store->write(
      [ids = std::move(ids), counted, keys_before,
       keys_limit = s.keys_per_write](persistence::write_batch& b) -> boost::system::error_code {
        *counted = {}; // a write may run twice (see store::commit): count the last run only
        for (auto& id : ids) {
          persistence::run_removal r;
          if (auto ec = b.remove_run(id, r))
            return ec;
          counted->runs += r.removed;
          counted->events += r.events;
          counted->kept += r.kept;
        }
        return b.expire_idempotency_keys(keys_before, keys_limit, counted->keys);
      },
      [handle, counted, runs_full, keys_limit = s.keys_per_write](boost::system::error_code ec) {
        if (ec)
          return caf::anon_send(handle, pruned_atom::value, std::uint64_t{0}, std::uint64_t{0},
                                std::uint64_t{0}, std::uint64_t{0}, false);
        // More may be due while whole slices were: runs that were removed or kept, or keys.
        bool more = (runs_full && counted->runs + counted->kept > 0) || counted->keys == keys_limit;
        caf::anon_send(handle, pruned_atom::value, counted->runs, counted->events, counted->kept,
                       std::uint64_t{counted->keys}, more);
      });
}

} // namespace

std::chrono::milliseconds retention_check_interval(std::chrono::milliseconds period) {
  using namespace std::chrono_literals;
  if (period.count() <= 0)
    return 60'000ms;
  return std::clamp<std::chrono::milliseconds>(period / 10, 50ms, 60'000ms);
}

caf::behavior retention(self_ptr self, std::shared_ptr<const engine_context> ctx,
                        retention_settings settings) {
  self->send(self, tick_atom::value);
  return {
      [=](tick_atom) { prune_slice(self, *ctx, settings); },
      [=](pruned_atom, std::uint64_t runs, std::uint64_t events, std::uint64_t kept,
          std::uint64_t keys, bool more) {
        auto& c = *ctx->counters;
        c.retention_runs_removed.fetch_add(runs, std::memory_order_relaxed);
        c.retention_events_removed.fetch_add(events, std::memory_order_relaxed);
        c.idempotency_keys_expired.fetch_add(keys, std::memory_order_relaxed);
        self->state.kept_this_pass += kept;
        // Go on (after a breath for the writer) while whole slices were due; else the pass is
        // over until the next check.
        if (more)
          return self->delayed_send(self, settings.slice_pause, tick_atom::value);
        self->state.kept_this_pass = 0;
        self->delayed_send(self, settings.check_interval, tick_atom::value);
      },
  };
}

} // namespace rundun
