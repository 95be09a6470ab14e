// The endpoint actor's window: what it holds in memory of the deliveries the store has
// pending for its endpoint. A window too small for the backlog pages it in from the store,
// at once while there is room and periodically while it is full, so a dead endpoint's
// backlog costs disk, not memory. The pump starts what is due and arms the retry timer.

#include "actors/endpoint_actor_steps.hpp"

#include <algorithm>

#include <caf/all.hpp>

namespace rundun::endpoint_steps {

namespace {

// Arms the retry timer for the next due job, unless one already fires for it or earlier.
void arm_timer(self_ptr self) {
  auto& st = self->state;
  auto t = now();
  auto next = st.queue->next_due_after(t);
  if (!next || (st.armed_for && *st.armed_for <= *next && *st.armed_for > t))
    return;
  st.armed_for = next;
  self->delayed_send(self, *next - t, tick_atom::value);
}

// A drain is answered once nothing is in flight: no attempt's report is then lost.
void answer_drain(self_ptr self) {
  auto& st = self->state;
  if (!st.draining || st.queue->in_flight() > 0)
    return;
  for (auto& rp : st.drain_waiters)
    rp.deliver(true);
  st.drain_waiters.clear();
}

} // namespace

void schedule_refill(self_ptr self) {
  auto& st = self->state;
  if (!st.backlog)
    return;
  // With room in the window, page in at once; a full window looks again periodically, for
  // backlog entries that fell due before the ones it holds.
  if (st.queue->size() <= st.queue->window() / 2 && !st.refill_stalled) {
    if (!st.refill_now_pending) {
      st.refill_now_pending = true;
      self->send(self, refill_atom::value, false);
    }
  } else if (!st.refill_later_pending) {
    st.refill_later_pending = true;
    self->delayed_send(self, refill_interval, refill_atom::value, true);
  }
}

void pump(self_ptr self, const engine_context& ctx) {
  auto& st = self->state;
  if (st.draining)
    return answer_drain(self);
  if (fail_waiting_if_disabled(self, ctx))
    return schedule_refill(self); // its backlog pages in, to be failed in turn
  for (auto* job : st.queue->take_ready(now())) {
    if (auto u = st.settling.find(job->id.value); u != st.settling.end()) {
      // Its last result is not stored yet: nothing is sent again for it until it is, or
      // the same attempt would reach the endpoint twice.
      st.queue->put_back(job->id, now() + std::max(u->second.backoff, min_rewrite_backoff));
      continue;
    }
    start_attempt(self, ctx, *job);
  }
  arm_timer(self);
  schedule_refill(self);
}

std::optional<delivery_job> load_job(const engine_context& ctx, const persistence::pending_entry& p,
                                     std::unordered_map<std::string, std::string>& secrets) {
  auto ev = ctx.store->find_event(p.id);
  auto data = ctx.store->event_data(p.id);
  if (!ev || !*ev || !data || !*data || (*ev)->delivery.status != delivery_status::pending)
    return std::nullopt;
  auto& e = **ev;
  auto secret = secrets.find(e.run.value);
  if (secret == secrets.end()) {
    auto run = ctx.store->find_run(e.run);
    if (!run || !*run || !(*run)->webhook)
      return std::nullopt;
    secret = secrets.emplace(e.run.value, (*run)->webhook->secret).first;
  }
  delivery_job j;
  j.id = e.id;
  j.run = e.run;
  j.seq = e.seq;
  j.type = e.type;
  j.created_at = e.created_at;
  j.data = std::make_shared<const std::string>(std::move(**data));
  j.secret = secret->second;
  j.attempts = static_cast<int>(e.delivery.attempts.size());
  j.round_failures = e.delivery.round_failures;
  j.due = p.due;
  j.stored_due = e.delivery.next_attempt_at.value_or(p.due);
  // An event redelivered before a crash has attempts but a fresh round: no order to keep,
  // unless a recovery sent it, which keeps its run's order.
  j.redelivery = j.attempts > 0;
  if (j.redelivery) {
    auto recovering = ctx.store->recovering(e.endpoint, e.seq);
    j.recovery = recovering && *recovering;
  }
  return j;
}

bool still_pending(const engine_context& ctx, const event_id& id) {
  auto ev = ctx.store->find_event(id);
  return ev && *ev && (*ev)->delivery.status == delivery_status::pending;
}

bool run_disabled(self_ptr self, const engine_context& ctx, const run_id& run) {
  auto& st = self->state;
  if (st.disabled_runs.count(run.value))
    return true;
  auto stored = ctx.store->webhook_disabled(run);
  if (stored && *stored) {
    st.disabled_runs.insert_or_assign(run.value, std::chrono::steady_clock::now());
    return true;
  }
  return false;
}

void refill(self_ptr self, const engine_context& ctx, bool periodic) {
  auto& st = self->state;
  (periodic ? st.refill_later_pending : st.refill_now_pending) = false;
  if (!st.backlog)
    return;
  auto& q = *st.queue;
  auto page = ctx.store->pending(st.key, q.window());
  // Every commit up to here is in the page's snapshot (or later than the page read).
  st.paged_through_commit = ctx.store->commit_mark();
  if (!page) {
    // The store could not be read: look again later rather than spin.
    st.backlog = true;
    if (!st.refill_later_pending) {
      st.refill_later_pending = true;
      self->delayed_send(self, refill_interval, refill_atom::value, true);
    }
    return;
  }
  // Read after the page: a recovery that sent events of this page again enabled the
  // endpoint in an earlier commit, which this read sees.
  read_disabled(self, ctx);
  // Everything on disk fits in what was read: once it is all in the window, no backlog.
  bool everything_seen = page->size() < q.window();
  bool all_taken = true;
  std::size_t taken = 0;
  std::unordered_map<std::string, std::string> secrets;
  for (auto& p : *page) {
    if (q.contains(p.id) || st.settling.count(p.id.value))
      continue;
    ++taken;
    if (q.full() && !q.evict_later_than(p.due, p.seq)) {
      all_taken = false;
      break;
    }
    auto job = load_job(ctx, p, secrets);
    if (!job)
      continue;
    if (run_disabled(self, ctx, job->run)) {
      fail_gone(self, ctx, job->id);
      continue;
    }
    if (st.disabled_at) {
      fail_disabled(self, ctx, job->id);
      continue;
    }
    q.add(std::move(*job));
  }
  st.backlog = !(everything_seen && all_taken);
  st.refill_stalled = st.backlog && taken == 0;
  pump(self, ctx);
}

} // namespace rundun::endpoint_steps
