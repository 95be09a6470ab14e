#include "actors/operator_notifier.hpp"

#include "actors/messages.hpp"
#include "net/envelope.hpp"
#include "net/log.hpp"
#include "net/retry_after.hpp"
#include "net/retry_policy.hpp"
#include "persistence/store.hpp"

#include <caf/all.hpp>

namespace rundun {

namespace {

using self_ptr = caf::stateful_actor<operator_notifier_state>*;

/// Notices read per wake, and attempts under way at once: notices come one per endpoint per
/// run of failures, so a few suffice.
constexpr std::size_t notices_per_read = 64;
constexpr std::size_t max_in_flight = 4;

/// The first and the longest wait before a result whose write failed is written again.
constexpr std::chrono::milliseconds min_rewrite_backoff{100};
constexpr std::chrono::milliseconds max_rewrite_backoff{5'000};
/// How long to wait before reading the table again when it could not be read.
constexpr std::chrono::seconds read_retry{1};

/// Sends one attempt of `n`. Its result is judged on the io thread that ends it, as an
/// event's is (429 and 503 with Retry-After included), and comes back as attempt_atom.
void send(self_ptr self, const engine_context& ctx, operator_notice n) {
  auto& st = self->state;
  auto created = format_rfc3339(n.created_at);
  auto body = std::make_shared<const std::string>(
      net::encode_envelope({to_string(n.type), n.id, n.attempts + 1, {}, created, n.data_json}));
  auto timestamp = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  net::outgoing_request req{body, n.id, timestamp, st.signer->sign(n.id, timestamp, *body)};
  auto handle = caf::actor_cast<caf::actor>(self);
  auto seq = n.seq;
  auto failures = n.attempts + 1;
  st.in_flight.emplace(seq, std::move(n));
  st.client->post(
      std::move(req), [handle, seq, failures, schedule = ctx.schedule](net::attempt_response r) {
        net::attempt_outcome outcome;
        if (r.error.empty()) {
          outcome.status = r.status;
          if (r.retry_after)
            outcome.retry_after =
                net::parse_retry_after(*r.retry_after, std::chrono::system_clock::now());
        }
        auto decision = net::decide_retry(schedule, failures, outcome, 0.0);
        auto why = !r.error.empty() ? r.error
                   : r.status       ? "http status " + std::to_string(*r.status)
                                    : std::string("no response");
        caf::anon_send(handle, attempt_atom::value, seq, static_cast<std::uint8_t>(decision.what),
                       static_cast<std::int64_t>(decision.delay.count()),
                       decision.what == net::verdict::delivered ? std::string() : why);
      });
}

/// Starts what is due while there is room, and arms the timer for the next one that is not
/// due yet (one that waits for room goes at the next wake, after a result is stored).
void pump(self_ptr self, const engine_context& ctx) {
  auto& st = self->state;
  auto notices = ctx.store->pending_notices(notices_per_read);
  if (!notices) {
    log::error("the operator's notices could not be read", {{"reason", notices.error().message()}});
    self->delayed_send(self, read_retry, tick_atom::value);
    return;
  }
  auto t = now();
  std::optional<time_point> next;
  for (auto& n : *notices) {
    if (st.in_flight.count(n.seq) || st.settling.count(n.seq))
      continue;
    if (n.due > t) {
      if (!next || n.due < *next)
        next = n.due;
    } else if (st.in_flight.size() < max_in_flight) {
      send(self, ctx, std::move(n));
    }
  }
  if (next && (!st.armed_for || *st.armed_for > *next || *st.armed_for <= t)) {
    st.armed_for = next;
    self->delayed_send(self, *next - t, tick_atom::value);
  }
}

/// Queues the write of the result that `settling` holds for `seq`; stored_atom comes back.
void write_result(self_ptr self, const engine_context& ctx, std::uint64_t seq) {
  auto& r = self->state.settling.at(seq);
  ctx.store->write([before = r.before, after = r.after](
                       persistence::write_batch& b) { return b.put_notice(before, after); },
                   [handle = caf::actor_cast<caf::actor>(self), seq](boost::system::error_code ec) {
                     caf::anon_send(handle, stored_atom::value, seq, !ec);
                   });
}

/// What an attempt came to: delivered (removed), failed for good (removed, and logged), or
/// its next attempt; kept in `settling` until its write is durable.
void settle(self_ptr self, const engine_context& ctx, std::uint64_t seq, net::verdict what,
            std::chrono::milliseconds delay, const std::string& error) {
  auto& st = self->state;
  auto it = st.in_flight.find(seq);
  if (it == st.in_flight.end())
    return;
  auto before = std::move(it->second);
  st.in_flight.erase(it);
  auto& c = *ctx.counters;
  std::optional<operator_notice> after;
  auto kind = std::string(to_string(before.type));
  switch (what) {
  case net::verdict::delivered:
    c.notices_delivered.fetch_add(1, std::memory_order_relaxed);
    break;
  case net::verdict::failed:
  case net::verdict::gone:
    c.notices_failed.fetch_add(1, std::memory_order_relaxed);
    log::error("an operator notice failed after its last attempt",
               {{"notice", kind}, {"event_id", before.id}, {"reason", error}});
    break;
  case net::verdict::retry:
    log::info("an operator notice attempt failed",
              {{"notice", kind},
               {"event_id", before.id},
               {"attempt", std::to_string(before.attempts + 1)},
               {"reason", error}});
    after = before;
    ++after->attempts;
    after->due = now() + delay;
    break;
  }
  st.settling.insert_or_assign(
      seq, operator_notifier_state::settling_result{std::move(before), std::move(after), {}});
  write_result(self, ctx, seq);
}

/// A result's write is durable (the notice may go again, or is gone), or it failed: then it
/// is written again after a backoff, and the notice waits.
void on_stored(self_ptr self, const engine_context& ctx, std::uint64_t seq, bool ok) {
  auto& st = self->state;
  auto it = st.settling.find(seq);
  if (it == st.settling.end())
    return;
  if (ok) {
    st.settling.erase(it);
    return pump(self, ctx);
  }
  auto& b = it->second.backoff;
  b = b.count() == 0 ? min_rewrite_backoff : std::min(b * 2, max_rewrite_backoff);
  log::error("an operator notice's result could not be stored; it is written again",
             {{"event_id", it->second.before.id}});
  self->delayed_send(self, b, rewrite_atom::value, seq);
}

} // namespace

caf::behavior operator_notifier(self_ptr self, std::shared_ptr<const engine_context> ctx,
                                operator_webhook hook) {
  auto& st = self->state;
  net::client_options opts;
  opts.timeout = ctx->delivery_timeout;
  opts.max_idle = max_in_flight;
  opts.tls = ctx->tls;
  // The operator's URL is the operator's own choice: the destination guard does not apply.
  opts.allow_private_destinations = true;
  opts.resolver = ctx->resolver;
  opts.idle_timeout = ctx->connection_idle_timeout;
  opts.proxy = ctx->egress_proxy;
  st.client = net::endpoint_client::make(*ctx->io, std::move(hook.target), opts);
  st.signer.emplace(hook.key);
  self->send(self, wake_atom::value);
  return {
      [=](wake_atom) { pump(self, *ctx); },
      [=](tick_atom) {
        self->state.armed_for.reset();
        pump(self, *ctx);
      },
      [=](attempt_atom, std::uint64_t seq, std::uint8_t what, std::int64_t delay_ms,
          const std::string& error) {
        settle(self, *ctx, seq, static_cast<net::verdict>(what),
               std::chrono::milliseconds{delay_ms}, error);
      },
      [=](stored_atom, std::uint64_t seq, bool ok) { on_stored(self, *ctx, seq, ok); },
      [=](rewrite_atom, std::uint64_t seq) {
        if (self->state.settling.count(seq))
          write_result(self, *ctx, seq);
      },
  };
}

} // namespace rundun
