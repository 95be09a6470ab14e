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
  // A job whose last result is not stored yet stays: it is failed once that is (stored_atom
  // pumps).
  for (auto& job : st.queue->remove_waiting(
           [&](const delivery_job& j) { return st.settling.count(j.id.value) > 0; }))
    fail_disabled(self, ctx, job.id);
  return true;
}

void disable_if_failing_too_long(self_ptr self, const engine_context& ctx) {
  auto& st = self->state;
  if (st.disabled_at || st.disabling || ctx.endpoint_disable_after.count() <= 0)
    return;
  auto at = now();
  // A dead endpoint fails every attempt: its figures are read only once the run of
  // failures seen last may have lasted long enough.
  if (st.failing_since_seen && at - *st.failing_since_seen < ctx.endpoint_disable_after)
    return;
  auto figures = ctx.store->endpoint_figures(st.key);
  if (!figures || !*figures || !(*figures)->failing_since)
    return;
  auto since = *(*figures)->failing_since;
  st.failing_since_seen = since;
  if (at - since < ctx.endpoint_disable_after)
    return;
  // The write decides again, on the figures it commits with (a 2xx or a recovery may come
  // first); this actor takes the flag from the store once it is durable, at the wake.
  st.disabling = true;
  auto disabled = std::make_shared<bool>(false);
  ctx.store->write(
      [key = st.key, at, after = ctx.endpoint_disable_after, disabled](
          persistence::write_batch& b) { return b.disable_endpoint(key, at, after, *disabled); },
      [handle = caf::actor_cast<caf::actor>(self), counters = ctx.counters, disabled,
       host = st.target.host, since, at](boost::system::error_code ec) {
        if (ec)
          log::error("an endpoint's disabling could not be stored", {{"reason", ec.message()}});
        if (!ec && *disabled) {
          counters->endpoints_disabled.fetch_add(1, std::memory_order_relaxed);
          log::warn("endpoint disabled: every attempt failed for too long; its waiting and new "
                    "events fail with endpoint_disabled until POST /v1/endpoints/recover",
                    {{"endpoint", host},
                     {"failing_since", format_rfc3339(since)},
                     {"disabled_at", format_rfc3339(at)}});
        }
        caf::anon_send(handle, disabled_atom::value);
      });
}

} // namespace rundun::endpoint_steps
