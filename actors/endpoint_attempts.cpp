// The endpoint actor's attempts: each is signed here and posted on the io thread, which
// judges its result (the pure attempt_verdict.hpp), reports it to the actor and queues its
// write to the store itself. The actor frees the attempt's slot at once, but sends nothing
// again for the event before its last result is durable. A 410 turns the run's webhook off.

#include "actors/endpoint_actor_steps.hpp"

#include "actors/attempt_verdict.hpp"
#include "net/envelope.hpp"
#include "net/log.hpp"
#include "net/retry_after.hpp"

#include <limits>

#include <caf/all.hpp>

namespace rundun::endpoint_steps {

namespace {

// Counts one attempt under its outcome for /metrics.
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
    case failure_kind::proxy:
      return c.attempts_proxy;
    case failure_kind::none:
    case failure_kind::protocol:
      break;
    }
    return c.attempts_other;
  }();
  counter.fetch_add(1, std::memory_order_relaxed);
}

// Counts a judged attempt's outcome, and logs a failed one: ids only, never the secret or
// the body.
void note_outcome(self_ptr self, const engine_context& ctx, const delivery_job& job,
                  const attempt_report& rep) {
  auto what = static_cast<net::verdict>(rep.verdict);
  switch (what) {
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
                                        {"attempt", std::to_string(rep.attempt)},
                                        {"reason", rep.reason}});
  if (what != net::verdict::retry)
    log::warn("delivery failed",
              {{"event_id", job.id.value},
               {"run_id", job.run.value},
               {"endpoint", host},
               {"reason", what == net::verdict::gone ? "endpoint_gone" : "retries exhausted"}});
}

// What the io thread needs to judge an attempt and store its result, taken from the job
// when the attempt starts (the job itself stays with its actor).
struct attempt_basis {
  /// The event as the endpoint knows it; its step is filled in with the verdict's.
  persistence::delivery_change change;
  int attempt = 1;
  time_point at;
  int round_failures = 0;
  bool webhook_off = false;
  double jitter = 0;
};

// On the io thread, when an attempt ends: judges it, reports it to the endpoint actor, and
// queues its result's write, whose outcome follows the report (stored_atom). The write does
// not wait for the actor, and the actor's slot does not wait for the write.
void settle(const engine_context& ctx, const caf::actor& handle, attempt_basis b,
            net::attempt_response r) {
  attempt_result res{
      b.attempt, b.at, r.status.value_or(0), std::nullopt, std::move(r.error), r.duration.count()};
  if (r.retry_after)
    res.retry_after = net::parse_retry_after(*r.retry_after, std::chrono::system_clock::now());
  auto v = judge_attempt(res, b.round_failures, b.webhook_off, ctx.schedule, b.jitter, now());
  attempt_report rep;
  rep.event = b.change.before.id;
  rep.attempt = b.attempt;
  rep.status = res.status;
  rep.failure = static_cast<std::uint8_t>(r.failure);
  rep.verdict = static_cast<std::uint8_t>(v.what);
  rep.retry_at_ms = v.retry_at ? to_unix_ms(*v.retry_at) : -1;
  rep.round_failures = v.step.round_failures;
  if (v.what != net::verdict::delivered)
    rep.reason = v.step.attempt->error.value_or("");
  b.change.step = std::move(v.step);
  auto change = std::make_shared<const persistence::delivery_change>(std::move(b.change));
  rep.result = change;
  // The report is in the actor's mailbox before the write is queued, so before its outcome.
  caf::anon_send(handle, attempt_atom::value, std::move(rep));
  ctx.store->write(
      [change, fail = ctx.faults.fail_result_write](
          persistence::write_batch& wb) -> boost::system::error_code {
        if (fail && fail(change->before.id.value))
          return make_error_code(persistence::errc::disk_full);
        return wb.append_delivery(*change);
      },
      [handle, id = change->before.id](boost::system::error_code ec) {
        caf::anon_send(handle, stored_atom::value, id, !ec);
      });
}

// A 410: the run's webhook is off. Its other waiting events fail now, unsent, and its
// actor hears of it (through the run directory), so that its new events fail at once.
void turn_webhook_off(self_ptr self, const engine_context& ctx, const run_id& run) {
  auto& st = self->state;
  st.disabled_runs.insert_or_assign(run.value, std::chrono::steady_clock::now());
  // The run's actor hears of it once the flag is durable: an actor that starts before then
  // is resident when the notice comes, and one that starts later reads the flag.
  ctx.store->write([run](persistence::write_batch& b) { return b.disable_webhook(run); },
                   [directory = ctx.run_directory, run](boost::system::error_code ec) {
                     if (!ec)
                       caf::anon_send(directory, webhook_off_atom::value, run);
                   });
  for (auto& other : st.queue->remove_run(run))
    fail_gone(self, ctx, other.id);
}

} // namespace

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

void store_change(self_ptr self, const engine_context& ctx, const event_id& id,
                  std::function<boost::system::error_code(persistence::write_batch&)> write,
                  bool retry_until_stored) {
  self->state.settling.insert_or_assign(id.value,
                                        unsettled_change{std::move(write), retry_until_stored, {}});
  write_change(self, ctx, id);
}

void record(self_ptr self, const engine_context& ctx, const event_id& id,
            std::function<void(event_record&)> change, bool retry_until_stored) {
  store_change(
      self, ctx, id,
      [id, change = std::move(change)](persistence::write_batch& b) {
        return b.update_event(id, change);
      },
      retry_until_stored);
}

void fail_unsent(self_ptr self, const engine_context& ctx, const event_id& id, std::string reason) {
  ctx.counters->failed.fetch_add(1, std::memory_order_relaxed);
  record(self, ctx, id, [reason = std::move(reason)](event_record& e) {
    e.delivery.status = delivery_status::failed;
    e.delivery.next_attempt_at.reset();
    e.delivery.error = reason;
  });
}

void fail_gone(self_ptr self, const engine_context& ctx, const event_id& id) {
  fail_unsent(self, ctx, id, "endpoint_gone");
}

void count_in_flight(self_ptr self, const engine_context& ctx, std::int64_t delta) {
  ctx.counters->in_flight.fetch_add(delta, std::memory_order_relaxed);
  ctx.in_flight->add(self->state.key, delta);
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
  count_in_flight(self, ctx, 1);
  attempt_basis b;
  auto& before = b.change.before;
  before.id = job.id;
  before.run = job.run;
  before.type = job.type;
  before.created_at = job.created_at;
  before.seq = job.seq;
  before.endpoint = st.key;
  before.delivery.next_attempt_at = job.stored_due;
  b.attempt = attempt;
  b.at = at;
  b.round_failures = job.round_failures;
  b.webhook_off = st.disabled_runs.count(job.run.value) > 0;
  b.jitter = std::uniform_real_distribution<double>{0.0, 1.0}(st.rng);
  auto handle = caf::actor_cast<caf::actor>(self);
  auto launch = [&ctx, client = st.client, handle, req = std::move(req),
                 b = std::move(b)]() mutable {
    client->post(std::move(req), [&ctx, handle, b = std::move(b)](net::attempt_response r) mutable {
      settle(ctx, handle, std::move(b), std::move(r));
    });
  };
  if (!job.gate)
    return launch();
  // A new event whose write has not committed yet: the request leaves at the commit, from
  // the writer's thread, or is dropped unsent if the write fails.
  auto gate = std::move(job.gate);
  gate->when_durable(
      [launch = std::move(launch)](std::uint64_t) mutable { launch(); },
      [handle, id = job.id.value] { caf::anon_send(handle, unstored_atom::value, id); });
}

void rewrite_later(self_ptr self, const std::string& id, unsettled_change& u) {
  if (u.backoff.count() == 0)
    log::error("a delivery result could not be stored; it is kept and written again",
               {{"event_id", id}});
  u.backoff =
      u.backoff.count() == 0 ? min_rewrite_backoff : std::min(u.backoff * 2, max_rewrite_backoff);
  self->delayed_send(self, u.backoff, rewrite_atom::value, id);
}

void on_attempt(self_ptr self, const engine_context& ctx, attempt_report& rep) {
  auto& st = self->state;
  st.last_activity = std::chrono::steady_clock::now();
  count_in_flight(self, ctx, -1);
  count_attempt(*ctx.counters, rep);
  auto* job = st.queue->find(rep.event);
  if (!job)
    return;
  note_outcome(self, ctx, *job, rep);
  // Its write is queued: kept here until stored, and written again if that write fails.
  st.settling.insert_or_assign(
      rep.event.value,
      unsettled_change{[result = std::move(rep.result)](persistence::write_batch& b) {
                         return b.append_delivery(*result);
                       },
                       true,
                       {}});
  std::optional<time_point> retry_at;
  if (rep.retry_at_ms >= 0) {
    retry_at = from_unix_ms(rep.retry_at_ms);
    job->round_failures = rep.round_failures;
    job->stored_due = *retry_at;
  }
  auto run = job->run;
  st.queue->finish(rep.event, retry_at);
  // With a backlog on disk, a job whose retry is far off leaves the window: the store has it,
  // with its new due time once the write commits, and until then the page-in skips it as
  // settling. So due work pages in at once; before, a dead endpoint's window filled with
  // hour-away retries and its backlog's first attempts went at one window a second.
  if (st.backlog && retry_at && *retry_at > now() + refill_interval)
    st.queue->evict_later_than(now() + refill_interval, std::numeric_limits<std::uint64_t>::max());
  bool known_off = st.disabled_runs.count(run.value) > 0;
  if (static_cast<net::verdict>(rep.verdict) == net::verdict::gone && !known_off) {
    turn_webhook_off(self, ctx, run);
  } else if (known_off && retry_at) {
    // The run's webhook went off (a 410 to another of its events) while this attempt was in
    // flight, so it was judged without knowing: it does not wait for its retry either.
    for (auto& other : st.queue->remove_run(run))
      fail_gone(self, ctx, other.id);
  }
  if (static_cast<net::verdict>(rep.verdict) != net::verdict::delivered)
    disable_if_failing_too_long(self, ctx);
  pump(self, ctx);
}

} // namespace rundun::endpoint_steps
