// An endpoint that gives up (contract §7): once every attempt to it has failed for
// `endpoint_disable_after`, counted from the store's `failing_since`, it is disabled. The
// flag is written to its figures (listed first by GET /v1/endpoints), its waiting events
// fail unsent with `endpoint_disabled`, a page at a time as its backlog pages in, and so do
// its new events, at once. A recovery enables it again (recovery_actor.cpp) and wakes it;
// the actor reads the flag at that wake and after each page-in.

#include "actors/endpoint_actor_steps.hpp"

#include "net/log.hpp"

#include <caf/all.hpp>

namespace rundun::endpoint_steps {

void read_disabled(self_ptr self, const engine_context& ctx) {
  auto figures = ctx.store->endpoint_figures(self->state.key);
  // A store that cannot be read leaves the flag as it was: the next read tries again.
  if (figures)
    self->state.disabled_at = *figures ? (*figures)->disabled_at : std::nullopt;
}

void fail_disabled(self_ptr self, const engine_context& ctx, const event_id& id) {
  fail_unsent(self, ctx, id, "endpoint_disabled");
}

bool fail_waiting_if_disabled(self_ptr self, const engine_context& ctx) {
  auto& st = self->state;
  if (!st.disabled_at)
    return false;
  for (auto& job : st.queue->remove_waiting()) {
    // Its last result is not stored yet: it is failed once that is (stored_atom pumps).
    if (st.settling.count(job.id.value)) {
      st.queue->add(std::move(job));
      continue;
    }
    fail_disabled(self, ctx, job.id);
  }
  return true;
}

void disable_if_failing_too_long(self_ptr self, const engine_context& ctx) {
  auto& st = self->state;
  if (st.disabled_at || ctx.endpoint_disable_after.count() <= 0)
    return;
  auto figures = ctx.store->endpoint_figures(st.key);
  if (!figures || !*figures || !(*figures)->failing_since)
    return;
  auto at = now();
  auto since = *(*figures)->failing_since;
  if (at - since < ctx.endpoint_disable_after)
    return;
  st.disabled_at = at;
  ctx.counters->endpoints_disabled.fetch_add(1, std::memory_order_relaxed);
  log::warn("endpoint disabled: every attempt failed for too long; its waiting and new "
            "events fail with endpoint_disabled until POST /v1/endpoints/recover",
            {{"endpoint", st.target.host},
             {"failing_since", format_rfc3339(since)},
             {"disabled_at", format_rfc3339(at)}});
  // The flag's write is not waited for: the events fail after it in the writer's queue, and
  // an actor that starts again before it commits fails its events at its next failure.
  ctx.store->write(
      [key = st.key, at](persistence::write_batch& b) { return b.disable_endpoint(key, at); },
      [](boost::system::error_code ec) {
        if (ec)
          log::error("an endpoint's disabling could not be stored", {{"reason", ec.message()}});
      });
}

} // namespace rundun::endpoint_steps
