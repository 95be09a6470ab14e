// The endpoint actor's behaviour: its setup, what its failure does, which step each message
// takes, and its idle handshake. Paging is in endpoint_paging.cpp, attempts in
// endpoint_attempts.cpp.

#include "actors/endpoint_actor.hpp"

#include "actors/actor_failure.hpp"
#include "actors/endpoint_actor_steps.hpp"
#include "actors/messages.hpp"
#include "net/log.hpp"

#include <algorithm>

#include <caf/all.hpp>

namespace rundun {

using namespace endpoint_steps;

namespace {

using namespace std::chrono_literals;

/// The least time a run learned to be disabled (a 410) is remembered here, not read from
/// the store.
constexpr std::chrono::milliseconds min_disabled_run_memory = 1min;

delivery_job job_from(delivery_order&& o) {
  delivery_job j;
  j.id = std::move(o.event);
  j.run = std::move(o.run);
  j.seq = o.seq;
  j.type = o.type;
  j.created_at = from_unix_ms(o.created_at_ms);
  j.data = std::move(o.data);
  j.secret = std::move(o.secret);
  j.gate = std::move(o.gate);
  j.due = j.created_at;
  j.stored_due = j.due;
  return j;
}

/// True when the endpoint has nothing to do: nothing in memory, on disk or being stored.
bool idle(const endpoint_actor_state& st) {
  return st.queue->size() == 0 && !st.backlog && st.settling.empty() &&
         st.redeliver_waiters.empty() && !st.draining && !st.refill_now_pending &&
         !st.refill_later_pending;
}

/// Drops the runs learned to be disabled long enough ago that every attempt in flight then
/// has reported (each ends within the delivery timeout) and the store's flag is durable:
/// from then on `run_disabled` reads the store.
void forget_disabled_runs(self_ptr self, const engine_context& ctx) {
  auto cutoff =
      std::chrono::steady_clock::now() -
      std::max<std::chrono::milliseconds>(min_disabled_run_memory, 2 * ctx.delivery_timeout);
  std::erase_if(self->state.disabled_runs, [cutoff](auto& run) { return run.second < cutoff; });
}

/// Marks work taken from the directory: the idle handshake counts it.
void took_work(self_ptr self) {
  auto& st = self->state;
  ++st.work_taken;
  st.last_activity = std::chrono::steady_clock::now();
}

/// The directory's sweep: an endpoint with nothing to do for the idle timeout asks to leave.
/// (No idle timer of its own: a pending CAF timer pins its actor in memory until it fires.)
void check_idle(self_ptr self, const engine_context& ctx) {
  auto& st = self->state;
  if (st.asked_to_leave || !idle(st) ||
      std::chrono::steady_clock::now() - st.last_activity < ctx.endpoint_idle_timeout)
    return;
  // The directory lets it go only if it has sent nothing since `work_taken`; else the work
  // is on its way here, and a later sweep asks again.
  st.asked_to_leave = true;
  self->send(ctx.delivery_directory, idle_atom::value, st.key, st.work_taken);
}

// The endpoint's URL as stored. Only a URL stored by another version can fail to parse (new
// ones are checked at creation): its attempts fail, each with a clear error, rather than
// this actor.
net::url endpoint_target(const std::string& key, const std::string& url) {
  auto target = net::parse_url(url);
  if (target)
    return std::move(*target);
  log::error("a stored webhook URL does not parse; its deliveries will fail",
             {{"endpoint", key}, {"reason", target.error().message()}});
  return net::url{"http", "invalid-url.invalid", 80, "/"};
}

// The endpoint's own HTTP client, with its keep-alive connections.
std::shared_ptr<net::endpoint_client> make_client(const engine_context& ctx,
                                                  const net::url& target) {
  net::client_options opts;
  opts.timeout = ctx.delivery_timeout;
  opts.max_idle = ctx.endpoint_concurrency;
  opts.tls = ctx.tls;
  opts.allow_private_destinations = ctx.allow_private_destinations;
  opts.resolver = ctx.resolver;
  opts.idle_timeout = ctx.connection_idle_timeout;
  opts.proxy = ctx.egress_proxy;
  return net::endpoint_client::make(*ctx.io, target, opts);
}

// A bug that throws here ends this endpoint's actor only: its waiters get an answer, and
// the directory starts the endpoint again, which pages its backlog in from the store.
caf::error on_exception(self_ptr self, const engine_context& ctx, std::exception_ptr& e) {
  auto& st = self->state;
  auto reason = describe_exception(e);
  log::error("an endpoint actor failed", {{"endpoint", st.target.host}, {"reason", reason}});
  // Its attempts in flight finish on the io thread, but nobody takes their reports.
  count_in_flight(self, ctx, -static_cast<std::int64_t>(st.queue->in_flight()));
  for (auto& [id, rp] : st.redeliver_waiters)
    rp.deliver(redeliver_reply{refusal_kind::engine_error, "the endpoint failed; try again"});
  st.redeliver_waiters.clear();
  for (auto& rp : st.drain_waiters)
    rp.deliver(true);
  st.drain_waiters.clear();
  return caf::make_error(caf::sec::runtime_error, std::move(reason));
}

// An order sent before its event is durable (its commit_gate is waiting). With room and no
// backlog, its first attempt starts now if it can, in its run's order, and its request then
// waits in the gate. Otherwise the job is held in the window (beyond a full one, if need be)
// until the commit: it keeps its place in its run's order, so no later event of its run can
// pass it, and it is neither started nor evicted while its event is not on disk. At the
// commit it comes again through the directory (this actor may have failed by then, and a
// fresh one finds it on disk); a failed write drops it.
void take_before_commit(self_ptr self, const engine_context& ctx, delivery_order& order) {
  auto& st = self->state;
  auto gate = std::move(order.gate);
  auto id = order.event;
  auto handle = caf::actor_cast<caf::actor>(self);
  bool may_start = !st.backlog && !st.queue->full() && !st.disabled_runs.count(order.run.value) &&
                   !st.disabled_at;
  auto later = order; // what comes again at the commit
  auto job = job_from(std::move(order));
  if (may_start) {
    job.gate = gate;
    st.queue->add(std::move(job));
    pump(self, ctx);
    if (!st.queue->contains(id) || st.queue->sending(id)) {
      // Started (its request waits in the gate), or settled at once (a malformed secret).
      if (st.queue->sending(id) && ctx.faults.on_message)
        ctx.faults.on_message("endpoint.at_commit", id.value);
      return;
    }
    st.queue->find(id)->gate.reset();
    st.queue->hold(id);
  } else {
    st.queue->add_held(std::move(job));
  }
  gate->when_durable(
      [dd = ctx.delivery_directory, later = std::move(later)](std::uint64_t commit) mutable {
        later.commit = commit;
        caf::anon_send(dd, deliver_atom::value, std::move(later));
      },
      [handle, id = id.value] { caf::anon_send(handle, unstored_atom::value, id); });
}

// A new event for this endpoint, from its run's actor: durable, or with the write that
// makes it durable (its commit_gate).
void on_deliver(self_ptr self, const engine_context& ctx, delivery_order& order) {
  auto& st = self->state;
  took_work(self);
  if (ctx.faults.on_message)
    ctx.faults.on_message("endpoint", order.url);
  if (order.gate) {
    switch (order.gate->current()) {
    case commit_gate::state::failed:
      return; // never stored: nothing to send
    case commit_gate::state::waiting:
      return take_before_commit(self, ctx, order);
    case commit_gate::state::durable:
      order.commit = order.gate->mark();
      order.gate.reset();
      break;
    }
  }
  // Held here until its commit, which has come: it waits like any other now.
  if (st.queue->held(order.event)) {
    st.queue->release(order.event);
    if (st.disabled_runs.count(order.run.value)) {
      st.queue->withdraw(order.event);
      return fail_gone(self, ctx, order.event);
    }
    if (st.disabled_at) {
      st.queue->withdraw(order.event);
      return fail_disabled(self, ctx, order.event);
    }
    return pump(self, ctx);
  }
  // With a backlog on disk, a new event waits its turn there, behind older ones; the
  // page-in does the checks below when it loads it. This keeps a dead endpoint's
  // intake cheap, so its mailbox does not grow with its backlog.
  if (st.backlog)
    return schedule_refill(self);
  auto commit = order.commit;
  auto job = job_from(std::move(order));
  // A page-in from disk may have taken this event already (the order was on its way
  // while the event was durable): in the window, just sent, or even delivered. Only a
  // page-in that read a snapshot with the event's commit in it can have, so only then
  // is the store asked.
  if (st.queue->contains(job.id) || st.settling.count(job.id.value) ||
      (commit <= st.paged_through_commit && !still_pending(ctx, job.id)))
    return;
  // The run actor made the order with its webhook on; a 410 since is known here.
  if (st.disabled_runs.count(job.run.value))
    return fail_gone(self, ctx, job.id);
  // A disabled endpoint fails its new events at once, unsent (contract §7).
  if (st.disabled_at)
    return fail_disabled(self, ctx, job.id);
  if (!st.queue->add(std::move(job)))
    st.backlog = true;
  pump(self, ctx);
}

// The write of an event taken before its commit failed: the event was never stored. Its
// request, if it waited in the gate, never left; a held job goes.
void on_unstored(self_ptr self, const engine_context& ctx, const std::string& id) {
  auto& st = self->state;
  event_id eid{id};
  if (st.queue->sending(eid)) {
    count_in_flight(self, ctx, -1);
    st.queue->finish(eid, std::nullopt);
  } else {
    st.queue->withdraw(eid);
  }
  pump(self, ctx);
}

// A redelivery's change is durable, and its caller has heard so: the event joins the window
// (or the backlog, behind older work) as a fresh round.
void requeue_redelivered(self_ptr self, const engine_context& ctx, const std::string& id) {
  auto& st = self->state;
  std::unordered_map<std::string, std::string> secrets;
  auto job = load_job(ctx, {event_id{id}, now(), 0}, secrets);
  if (job) {
    job->redelivery = true;
    if (st.backlog || !st.queue->add(std::move(*job)))
      st.backlog = true;
  }
  pump(self, ctx);
}

// A delivery-state change is durable, or its write failed.
void on_stored(self_ptr self, const engine_context& ctx, const event_id& eid, bool ok) {
  auto& st = self->state;
  auto& id = eid.value;
  st.refill_stalled = false; // a settled change may let the next page-in take something
  auto unsettled = st.settling.find(id);
  if (!ok && unsettled != st.settling.end() && unsettled->second.retry_until_stored)
    return rewrite_later(self, id, unsettled->second);
  if (unsettled != st.settling.end())
    st.settling.erase(unsettled);
  if (!ok)
    log::error("a delivery state change could not be stored", {{"event_id", id}});
  auto waiter = st.redeliver_waiters.find(id);
  if (waiter == st.redeliver_waiters.end())
    return pump(self, ctx); // a job held back for this result may go now
  auto rp = std::move(waiter->second);
  st.redeliver_waiters.erase(waiter);
  if (!ok) {
    rp.deliver(redeliver_reply{refusal_kind::storage_error, "the redelivery could not be stored"});
    return;
  }
  rp.deliver(redeliver_reply{});
  requeue_redelivered(self, ctx, id);
}

// A user's request to deliver a settled event again: refused while it is in flight or
// pending, or when its run's webhook is off; else answered once its new state is durable.
caf::result<redeliver_reply> on_redeliver(self_ptr self, const engine_context& ctx,
                                          const std::string& id) {
  auto& st = self->state;
  took_work(self);
  event_id eid{id};
  if (st.queue->contains(eid) || st.settling.count(id))
    return redeliver_reply{refusal_kind::delivery_in_progress,
                           "the event is being delivered right now"};
  auto ev = ctx.store->find_event(eid);
  if (!ev || !*ev)
    return redeliver_reply{refusal_kind::event_not_found, "no event has this id"};
  if (run_disabled(self, ctx, (*ev)->run))
    return redeliver_reply{refusal_kind::webhook_disabled,
                           "the run's webhook was turned off after a 410 Gone"};
  if (st.disabled_at)
    return redeliver_reply{refusal_kind::endpoint_disabled,
                           "the endpoint was disabled at " + format_rfc3339(*st.disabled_at) +
                               " after failing too long; POST /v1/endpoints/recover enables it "
                               "again"};
  if ((*ev)->delivery.status == delivery_status::pending)
    return redeliver_reply{refusal_kind::delivery_in_progress, "the event is waiting for delivery"};
  auto rp = self->make_response_promise();
  st.redeliver_waiters.emplace(id, rp);
  auto at = now();
  record(
      self, ctx, eid,
      [at](event_record& e) {
        e.delivery.status = delivery_status::pending;
        e.delivery.next_attempt_at = at;
        e.delivery.round_failures = 0;
        e.delivery.error.reset();
      },
      false);
  return rp;
}

// Starts nothing new from now on, and answers once nothing is in flight.
caf::result<bool> on_drain(self_ptr self) {
  auto& st = self->state;
  st.draining = true;
  if (st.queue->in_flight() == 0)
    return true;
  auto rp = self->make_response_promise();
  st.drain_waiters.push_back(rp);
  return rp;
}

// The actor's state before its first message, and a count of live endpoint actors that
// falls when it ends.
void set_up(self_ptr self, const engine_context& ctx, std::string key, const std::string& url) {
  auto& st = self->state;
  st.key = std::move(key);
  st.target = endpoint_target(st.key, url);
  st.client = make_client(ctx, st.target);
  st.queue.emplace(ctx.endpoint_concurrency, ctx.window);
  read_disabled(self, ctx);
  ctx.counters->live_endpoint_actors.fetch_add(1, std::memory_order_relaxed);
  self->attach_functor(
      [c = ctx.counters] { c->live_endpoint_actors.fetch_sub(1, std::memory_order_relaxed); });
}

} // namespace

caf::behavior endpoint_actor(self_ptr self, std::shared_ptr<const engine_context> ctx,
                             std::string key, std::string url) {
  set_up(self, *ctx, std::move(key), url);
  self->set_exception_handler([ctx](caf::scheduled_actor* p, std::exception_ptr& e) {
    return on_exception(static_cast<self_ptr>(p), *ctx, e);
  });
  // Start by paging in whatever this endpoint has pending on disk (after a restart).
  schedule_refill(self);
  return {
      [=](deliver_atom, delivery_order& order) { on_deliver(self, *ctx, order); },
      [=](unstored_atom, const std::string& id) { on_unstored(self, *ctx, id); },
      [=](attempt_atom, attempt_report& rep) { on_attempt(self, *ctx, rep); },
      [=](tick_atom) {
        self->state.armed_for.reset();
        pump(self, *ctx);
      },
      [=](refill_atom, bool periodic) { refill(self, *ctx, periodic); },
      [=](stored_atom, const event_id& eid, bool ok) { on_stored(self, *ctx, eid, ok); },
      [=](rewrite_atom, const std::string& id) {
        if (self->state.settling.count(id))
          write_change(self, *ctx, event_id{id});
      },
      [=](redeliver_atom, const std::string& id) { return on_redeliver(self, *ctx, id); },
      [=](drain_atom) { return on_drain(self); },
      [=](wake_atom) {
        // Deliveries may be on disk that no order announced (their run's actor failed
        // before it could send them): look.
        took_work(self);
        read_disabled(self, *ctx);
        self->state.backlog = true;
        schedule_refill(self);
      },
      [=](disabled_atom) {
        self->state.disabling = false;
        read_disabled(self, *ctx);
        pump(self, *ctx);
      },
      [=](idle_atom) {
        forget_disabled_runs(self, *ctx);
        check_idle(self, *ctx);
      },
      [=](idle_atom, bool) {
        // The directory's "stay" to (idle_atom, n): it sent more work after all, which is on
        // its way here. A later sweep asks again.
        self->state.asked_to_leave = false;
      },
      [=](leave_atom) {
        // The directory has forgotten this endpoint and sent it nothing it has not taken.
        self->quit();
      },
  };
}

} // namespace rundun
