#include "actors/endpoint_actor.hpp"

#include "actors/actor_failure.hpp"
#include "actors/attempt_verdict.hpp"
#include "actors/messages.hpp"
#include "net/envelope.hpp"
#include "net/log.hpp"
#include "net/retry_after.hpp"
#include "net/retry_policy.hpp"

#include <limits>

#include <caf/all.hpp>

namespace rundun {

namespace {

using self_ptr = caf::stateful_actor<endpoint_actor_state>*;
using namespace std::chrono_literals;

/// How often a window that cannot take the whole on-disk backlog looks at the disk again.
constexpr auto refill_interval = 1s;
/// The least time a run learned to be disabled (a 410) is remembered here, not read from
/// the store.
constexpr std::chrono::milliseconds min_disabled_run_memory = 1min;
/// The first and the longest wait before an attempt's result, whose write failed, is
/// written again.
constexpr std::chrono::milliseconds min_rewrite_backoff{100};
constexpr std::chrono::milliseconds max_rewrite_backoff{5'000};

delivery_job job_from(delivery_order&& o) {
  delivery_job j;
  j.id = std::move(o.event);
  j.run = std::move(o.run);
  j.seq = o.seq;
  j.type = o.type;
  j.created_at = from_unix_ms(o.created_at_ms);
  j.data = std::move(o.data);
  j.secret = std::move(o.secret);
  j.due = j.created_at;
  j.stored_due = j.due;
  return j;
}

/// Counts one attempt under its outcome for /metrics.
void count_attempt(engine_counters& c, const attempt_report& r) {
  using net::failure_kind;
  auto failure = static_cast<failure_kind>(r.failure);
  auto& counter = [&]() -> std::atomic<std::uint64_t>& {
    switch (r.status / 100) {
    case 2:
      return c.attempts_2xx;
    case 3:
      return c.attempts_3xx;
    case 4:
      return c.attempts_4xx;
    case 5:
      return c.attempts_5xx;
    case 0:
      break; // no response: the failure says why
    default:
      return c.attempts_other;
    }
    switch (failure) {
    case failure_kind::timeout:
      return c.attempts_timeout;
    case failure_kind::connect:
    case failure_kind::dns:
      return c.attempts_connect;
    case failure_kind::tls:
      return c.attempts_tls;
    case failure_kind::destination_not_allowed:
      return c.attempts_refused;
    case failure_kind::none:
    case failure_kind::protocol:
      break;
    }
    return c.attempts_other;
  }();
  counter.fetch_add(1, std::memory_order_relaxed);
}

/// Sends the change of `id` that `settling` holds to the store; `committed` comes back.
void write_change(self_ptr self, const engine_context& ctx, const event_id& id) {
  auto& u = self->state.settling.at(id.value);
  auto handle = caf::actor_cast<caf::actor>(self);
  auto fail = u.retry_until_stored ? ctx.faults.fail_result_write : nullptr;
  ctx.store->write(
      [id, write = u.write,
       fail = std::move(fail)](persistence::write_batch& b) -> boost::system::error_code {
        if (fail && fail(id.value))
          return make_error_code(persistence::errc::disk_full);
        return write(b);
      },
      [handle, id](boost::system::error_code ec) {
        caf::anon_send(handle, stored_atom::value, id, !ec);
      });
}

/// Queues a write of an event's delivery state; it is durable when `stored` comes back.
/// An attempt's outcome (`retry_until_stored`) is written again until it is stored.
void store_change(self_ptr self, const engine_context& ctx, const event_id& id,
                  std::function<boost::system::error_code(persistence::write_batch&)> write,
                  bool retry_until_stored = true) {
  self->state.settling.insert_or_assign(
      id.value, unsettled_change{std::move(write), retry_until_stored, {}});
  write_change(self, ctx, id);
}

/// Queues a change that reads the event in the store and edits it (the rarer changes).
void record(self_ptr self, const engine_context& ctx, const event_id& id,
            std::function<void(event_record&)> change, bool retry_until_stored = true) {
  store_change(
      self, ctx, id,
      [id, change = std::move(change)](persistence::write_batch& b) {
        return b.update_event(id, change);
      },
      retry_until_stored);
}

void fail_gone(self_ptr self, const engine_context& ctx, const event_id& id) {
  ctx.counters->failed.fetch_add(1, std::memory_order_relaxed);
  record(self, ctx, id, [](event_record& e) {
    e.delivery.status = delivery_status::failed;
    e.delivery.next_attempt_at.reset();
    e.delivery.error = "endpoint_gone";
  });
}

void start_attempt(self_ptr self, const engine_context& ctx, delivery_job& job) {
  auto& st = self->state;
  int attempt = job.attempts + 1;
  if (!job.envelope) {
    // Built at the first attempt this actor makes, and reused by every retry.
    auto created = format_rfc3339(job.created_at);
    job.envelope = std::make_shared<const net::envelope_template>(net::envelope_fields{
        to_string(job.type), job.id.value, 0, job.run.value, created, *job.data});
    job.data.reset();
  }
  net::outgoing_request req;
  req.body = std::make_shared<const std::string>(job.envelope->body(attempt));
  auto at = now();
  auto ts = std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count();
  auto signer = ctx.signers->get(job.secret);
  if (!signer) {
    // A run's secret is checked when the run is made; one that does not parse here is a
    // corrupted record. The event cannot be signed, so it is never sent.
    log::error("an event's secret is malformed", {{"event_id", job.id.value}});
    auto id = job.id;
    st.queue->finish(id, std::nullopt);
    ctx.counters->failed.fetch_add(1, std::memory_order_relaxed);
    return record(self, ctx, id, [](event_record& e) {
      e.delivery.status = delivery_status::failed;
      e.delivery.next_attempt_at.reset();
      e.delivery.error = "invalid_secret";
    });
  }
  // content-type and user-agent are the client's (the same on every request).
  req.id = job.id.value;
  req.timestamp = ts;
  req.signature = signer->sign(job.id.value, ts, *req.body);
  ctx.counters->in_flight.fetch_add(1, std::memory_order_relaxed);
  ctx.in_flight->add(st.key, 1);
  auto handle = caf::actor_cast<caf::actor>(self);
  st.client->post(std::move(req),
                  [handle, id = job.id, attempt, at](net::attempt_response r) {
                    attempt_report rep;
                    rep.event = id;
                    rep.attempt = attempt;
                    rep.at_ms = to_unix_ms(at);
                    rep.status = r.status.value_or(0);
                    rep.has_retry_after = r.retry_after.has_value();
                    rep.retry_after = r.retry_after.value_or("");
                    rep.error = std::move(r.error);
                    rep.failure = static_cast<std::uint8_t>(r.failure);
                    rep.duration_ms = r.duration.count();
                    caf::anon_send(handle, attempt_atom::value, std::move(rep));
                  });
}

void arm_timer(self_ptr self) {
  auto& st = self->state;
  auto t = now();
  auto next = st.queue->next_due_after(t);
  if (!next || (st.armed_for && *st.armed_for <= *next && *st.armed_for > t))
    return;
  st.armed_for = next;
  self->delayed_send(self, *next - t, tick_atom::value);
}

void schedule_refill(self_ptr self) {
  auto& st = self->state;
  if (!st.backlog)
    return;
  // With room in the window, page in at once; a full window looks again periodically, for
  // backlog entries that fell due before the ones it holds.
  if (st.queue->size() <= st.queue->window() / 2) {
    if (!st.refill_now_pending) {
      st.refill_now_pending = true;
      self->send(self, refill_atom::value, false);
    }
  } else if (!st.refill_later_pending) {
    st.refill_later_pending = true;
    self->delayed_send(self, refill_interval, refill_atom::value, true);
  }
}

void answer_drain(self_ptr self) {
  auto& st = self->state;
  if (!st.draining || st.queue->in_flight() > 0)
    return;
  for (auto& rp : st.drain_waiters)
    rp.deliver(true);
  st.drain_waiters.clear();
}

void pump(self_ptr self, const engine_context& ctx) {
  auto& st = self->state;
  if (st.draining)
    return answer_drain(self);
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

/// Loads one pending event from the store into a job; nullopt if it is no longer pending.
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

/// True while the store still has the event waiting for delivery.
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
  // Everything on disk fits in what was read: once it is all in the window, no backlog.
  bool everything_seen = page->size() < q.window();
  bool all_taken = true;
  std::unordered_map<std::string, std::string> secrets;
  for (auto& p : *page) {
    if (q.contains(p.id) || st.settling.count(p.id.value))
      continue;
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
    q.add(std::move(*job));
  }
  st.backlog = !(everything_seen && all_taken);
  pump(self, ctx);
}

/// Counts a judged attempt's outcome, and logs a failed one: ids only, never the secret or
/// the body.
void note_outcome(self_ptr self, const engine_context& ctx, const delivery_job& job,
                  const attempt_verdict& v) {
  auto& a = *v.step.attempt;
  switch (v.what) {
  case net::verdict::delivered:
    ctx.counters->delivered.fetch_add(1, std::memory_order_relaxed);
    ctx.counters->delivery_latency.record(
        std::chrono::duration_cast<std::chrono::microseconds>(now() - job.created_at));
    return;
  case net::verdict::failed:
  case net::verdict::gone:
    ctx.counters->failed.fetch_add(1, std::memory_order_relaxed);
    break;
  case net::verdict::retry:
    break;
  }
  auto& host = self->state.target.host;
  log::info("delivery attempt failed", {{"event_id", job.id.value},
                                        {"run_id", job.run.value},
                                        {"endpoint", host},
                                        {"attempt", std::to_string(a.attempt)},
                                        {"reason", a.error.value_or("")}});
  if (v.what != net::verdict::retry)
    log::warn("delivery failed",
              {{"event_id", job.id.value},
               {"run_id", job.run.value},
               {"endpoint", host},
               {"reason", v.what == net::verdict::gone ? "endpoint_gone" : "retries exhausted"}});
}

/// A 410: the run's webhook is off. Its other waiting events fail now, unsent, and its
/// actor hears of it (through the run directory), so that its new events fail at once.
void turn_webhook_off(self_ptr self, const engine_context& ctx, const run_id& run) {
  auto& st = self->state;
  st.disabled_runs.insert_or_assign(run.value, std::chrono::steady_clock::now());
  ctx.store->write([run](persistence::write_batch& b) { return b.disable_webhook(run); }, {});
  self->send(ctx.run_directory, webhook_off_atom::value, run);
  for (auto& other : st.queue->remove_run(run))
    fail_gone(self, ctx, other.id);
}

void on_attempt(self_ptr self, const engine_context& ctx, attempt_report& rep) {
  auto& st = self->state;
  st.last_activity = std::chrono::steady_clock::now();
  ctx.counters->in_flight.fetch_sub(1, std::memory_order_relaxed);
  ctx.in_flight->add(st.key, -1);
  count_attempt(*ctx.counters, rep);
  auto id = rep.event;
  auto* job = st.queue->find(id);
  if (!job)
    return;
  attempt_result r{rep.attempt, from_unix_ms(rep.at_ms), rep.status, std::nullopt, rep.error,
                   rep.duration_ms};
  if (rep.has_retry_after)
    r.retry_after = net::parse_retry_after(rep.retry_after, std::chrono::system_clock::now());
  std::uniform_real_distribution<double> unit{0.0, 1.0};
  bool webhook_off = st.disabled_runs.count(job->run.value) > 0;
  auto v = judge_attempt(r, job->round_failures, webhook_off, ctx.schedule, unit(st.rng), now());
  note_outcome(self, ctx, *job, v);
  // The result goes to the event's log as the endpoint knows the event: no read of it.
  persistence::delivery_change change{job->id,  job->run,        job->type, job->created_at,
                                      job->seq, st.key,          job->stored_due, v.step};
  auto run = job->run;
  if (v.retry_at) {
    job->round_failures = v.step.round_failures;
    job->stored_due = *v.retry_at;
  }
  st.queue->finish(id, v.retry_at);
  store_change(self, ctx, id, [change = std::move(change)](persistence::write_batch& b) {
    return b.append_delivery(change);
  });
  // With a backlog on disk, a job whose retry is far off leaves the window: the store has it,
  // with its new due time once the change commits, and until then the page-in skips it as
  // settling. So due work pages in at once; before, a dead endpoint's window filled with
  // hour-away retries and its backlog's first attempts went at one window a second.
  if (st.backlog && v.retry_at && *v.retry_at > now() + refill_interval)
    st.queue->evict_later_than(now() + refill_interval, std::numeric_limits<std::uint64_t>::max());
  if (v.what == net::verdict::gone && !webhook_off)
    turn_webhook_off(self, ctx, run);
  pump(self, ctx);
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
  self->send(ctx.delivery_directory, idle_atom::value, st.work_taken);
}

} // namespace

caf::behavior endpoint_actor(self_ptr self, std::shared_ptr<const engine_context> ctx,
                             std::string key, std::string url) {
  auto& st = self->state;
  st.key = std::move(key);
  if (auto target = net::parse_url(url)) {
    st.target = std::move(*target);
  } else {
    // Only a URL stored by another version can get here (new ones are checked at creation):
    // its attempts fail, each with a clear error, rather than this actor.
    log::error("a stored webhook URL does not parse; its deliveries will fail",
               {{"endpoint", st.key}, {"reason", target.error().message()}});
    st.target = net::url{"http", "invalid-url.invalid", 80, "/"};
  }
  net::client_options opts;
  opts.timeout = ctx->delivery_timeout;
  opts.max_idle = ctx->endpoint_concurrency;
  opts.tls = ctx->tls;
  opts.allow_private_destinations = ctx->allow_private_destinations;
  opts.resolver = ctx->resolver;
  opts.idle_timeout = ctx->connection_idle_timeout;
  st.client = net::endpoint_client::make(*ctx->io, st.target, opts);
  st.queue.emplace(ctx->endpoint_concurrency, ctx->window);
  ctx->counters->live_endpoint_actors.fetch_add(1, std::memory_order_relaxed);
  self->attach_functor(
      [c = ctx->counters] { c->live_endpoint_actors.fetch_sub(1, std::memory_order_relaxed); });
  // A bug that throws here ends this endpoint's actor only: its waiters get an answer, and
  // the directory starts the endpoint again, which pages its backlog in from the store.
  self->set_exception_handler([ctx](caf::scheduled_actor* p, std::exception_ptr& e) {
    auto* self = static_cast<self_ptr>(p);
    auto& st = self->state;
    auto reason = describe_exception(e);
    log::error("an endpoint actor failed", {{"endpoint", st.target.host}, {"reason", reason}});
    // Its attempts in flight finish on the io thread, but nobody takes their reports.
    ctx->counters->in_flight.fetch_sub(static_cast<std::int64_t>(st.queue->in_flight()),
                                       std::memory_order_relaxed);
    ctx->in_flight->add(st.key, -static_cast<std::int64_t>(st.queue->in_flight()));
    for (auto& [id, rp] : st.redeliver_waiters)
      rp.deliver(redeliver_reply{refusal_kind::engine_error, "the endpoint failed; try again"});
    st.redeliver_waiters.clear();
    for (auto& rp : st.drain_waiters)
      rp.deliver(true);
    st.drain_waiters.clear();
    return caf::make_error(caf::sec::runtime_error, std::move(reason));
  });
  // Start by paging in whatever this endpoint has pending on disk (after a restart).
  schedule_refill(self);
  return {
      [=](deliver_atom, delivery_order& order) {
        auto& st = self->state;
        took_work(self);
        if (ctx->faults.on_message)
          ctx->faults.on_message("endpoint", order.url);
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
            (commit <= st.paged_through_commit && !still_pending(*ctx, job.id)))
          return;
        // The run actor made the order with its webhook on; a 410 since is known here.
        if (st.disabled_runs.count(job.run.value))
          return fail_gone(self, *ctx, job.id);
        if (!st.queue->add(std::move(job)))
          st.backlog = true;
        pump(self, *ctx);
      },
      [=](attempt_atom, attempt_report& rep) { on_attempt(self, *ctx, rep); },
      [=](tick_atom) {
        self->state.armed_for.reset();
        pump(self, *ctx);
      },
      [=](refill_atom, bool periodic) { refill(self, *ctx, periodic); },
      [=](stored_atom, const event_id& eid, bool ok) {
        auto& st = self->state;
        auto& id = eid.value;
        auto unsettled = st.settling.find(id);
        if (!ok && unsettled != st.settling.end() && unsettled->second.retry_until_stored) {
          // The outcome stays here, and is written again with backoff: while the store
          // cannot write, the event is neither paged in from its old state on disk nor
          // sent again, so a failing disk does not turn into a storm of repeated attempts.
          auto& u = unsettled->second;
          if (u.backoff.count() == 0)
            log::error("a delivery result could not be stored; it is kept and written again",
                       {{"event_id", id}});
          u.backoff = u.backoff.count() == 0 ? min_rewrite_backoff
                                             : std::min(u.backoff * 2, max_rewrite_backoff);
          self->delayed_send(self, u.backoff, rewrite_atom::value, id);
          return;
        }
        if (unsettled != st.settling.end())
          st.settling.erase(unsettled);
        if (!ok)
          log::error("a delivery state change could not be stored", {{"event_id", id}});
        auto waiter = st.redeliver_waiters.find(id);
        if (waiter == st.redeliver_waiters.end())
          return pump(self, *ctx); // a job held back for this result may go now
        auto rp = std::move(waiter->second);
        st.redeliver_waiters.erase(waiter);
        if (!ok) {
          rp.deliver(redeliver_reply{refusal_kind::storage_error, "the redelivery could not be stored"});
          return;
        }
        rp.deliver(redeliver_reply{});
        std::unordered_map<std::string, std::string> secrets;
        auto job = load_job(*ctx, {event_id{id}, now(), 0}, secrets);
        if (job) {
          job->redelivery = true;
          if (st.backlog || !st.queue->add(std::move(*job)))
            st.backlog = true;
        }
        pump(self, *ctx);
      },
      [=](rewrite_atom, const std::string& id) {
        if (self->state.settling.count(id))
          write_change(self, *ctx, event_id{id});
      },
      [=](redeliver_atom, const std::string& id) -> caf::result<redeliver_reply> {
        auto& st = self->state;
        took_work(self);
        event_id eid{id};
        if (st.queue->contains(eid) || st.settling.count(id))
          return redeliver_reply{refusal_kind::delivery_in_progress, "the event is being delivered right now"};
        auto ev = ctx->store->find_event(eid);
        if (!ev || !*ev)
          return redeliver_reply{refusal_kind::event_not_found, "no event has this id"};
        if (run_disabled(self, *ctx, (*ev)->run))
          return redeliver_reply{refusal_kind::webhook_disabled,
                                 "the run's webhook was turned off after a 410 Gone"};
        if ((*ev)->delivery.status == delivery_status::pending)
          return redeliver_reply{refusal_kind::delivery_in_progress, "the event is waiting for delivery"};
        auto rp = self->make_response_promise();
        st.redeliver_waiters.emplace(id, rp);
        auto at = now();
        record(
            self, *ctx, eid,
            [at](event_record& e) {
              e.delivery.status = delivery_status::pending;
              e.delivery.next_attempt_at = at;
              e.delivery.round_failures = 0;
              e.delivery.error.reset();
            },
            false);
        return rp;
      },
      [=](drain_atom) -> caf::result<bool> {
        auto& st = self->state;
        st.draining = true;
        if (st.queue->in_flight() == 0)
          return true;
        auto rp = self->make_response_promise();
        st.drain_waiters.push_back(rp);
        return rp;
      },
      [=](wake_atom) {
        // Deliveries may be on disk that no order announced (their run's actor failed
        // before it could send them): look.
        took_work(self);
        self->state.backlog = true;
        schedule_refill(self);
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
