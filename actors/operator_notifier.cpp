#include "actors/operator_notifier.hpp"

#include "actors/messages.hpp"
#include "net/envelope.hpp"
#include "net/log.hpp"
#include "persistence/store.hpp"

#include <caf/all.hpp>

namespace rundun {

namespace {

using self_ptr = caf::stateful_actor<operator_notifier_state>*;

/// Notices read per wake, and attempts under way at once: notices come one per endpoint per
/// run of failures, so a few suffice.
constexpr std::size_t notices_per_read = 64;
constexpr std::size_t max_in_flight = 4;

/// Sends one attempt of `n`; its result comes back as (attempt_atom, seq, ok, error).
void send(self_ptr self, operator_notice n) {
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
  st.in_flight.emplace(seq, std::move(n));
  st.client->post(std::move(req), [handle, seq](net::attempt_response r) {
    bool ok = !r.error.empty() ? false : r.status && *r.status >= 200 && *r.status < 300;
    auto why = !r.error.empty() ? r.error
               : r.status       ? "http status " + std::to_string(*r.status)
                                : std::string("no response");
    caf::anon_send(handle, attempt_atom::value, seq, ok, ok ? std::string() : why);
  });
}

/// Starts what is due, and arms the timer for the next one.
void pump(self_ptr self, const engine_context& ctx) {
  auto& st = self->state;
  auto notices = ctx.store->pending_notices(notices_per_read);
  if (!notices) {
    log::error("the operator's notices could not be read", {{"reason", notices.error().message()}});
    self->delayed_send(self, std::chrono::seconds{1}, tick_atom::value);
    return;
  }
  auto t = now();
  std::optional<time_point> next;
  for (auto& n : *notices) {
    if (st.in_flight.count(n.seq))
      continue;
    if (n.due <= t && st.in_flight.size() < max_in_flight) {
      send(self, std::move(n));
      continue;
    }
    if (!next || n.due < *next)
      next = std::max(n.due, t);
  }
  if (next && (!st.armed_for || *st.armed_for > *next || *st.armed_for <= t)) {
    st.armed_for = next;
    self->delayed_send(self, *next - t, tick_atom::value);
  }
}

/// Stores what an attempt came to: delivered (removed), failed for good (removed, and
/// logged), or its next attempt on the schedule.
void settle(self_ptr self, const engine_context& ctx, std::uint64_t seq, bool ok,
            const std::string& error) {
  auto& st = self->state;
  auto it = st.in_flight.find(seq);
  if (it == st.in_flight.end())
    return;
  auto n = std::move(it->second);
  st.in_flight.erase(it);
  ++n.attempts;
  std::optional<operator_notice> keep;
  auto& c = *ctx.counters;
  if (ok) {
    c.notices_delivered.fetch_add(1, std::memory_order_relaxed);
  } else if (n.attempts >= ctx.schedule.max_attempts()) {
    c.notices_failed.fetch_add(1, std::memory_order_relaxed);
    log::error("an operator notice failed after its last attempt",
               {{"notice", std::string(to_string(n.type))}, {"event_id", n.id}, {"reason", error}});
  } else {
    log::info("an operator notice attempt failed", {{"notice", std::string(to_string(n.type))},
                                                    {"event_id", n.id},
                                                    {"attempt", std::to_string(n.attempts)},
                                                    {"reason", error}});
    n.due = now() + ctx.schedule.delays[static_cast<std::size_t>(n.attempts - 1)];
    keep = std::move(n);
  }
  auto handle = caf::actor_cast<caf::actor>(self);
  ctx.store->write(
      [seq, keep = std::move(keep)](persistence::write_batch& b) {
        return b.put_notice(seq, keep);
      },
      [handle](boost::system::error_code ec) {
        if (ec)
          log::error("an operator notice's result could not be stored", {{"reason", ec.message()}});
        caf::anon_send(handle, wake_atom::value);
      });
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
      [=](attempt_atom, std::uint64_t seq, bool ok, const std::string& error) {
        settle(self, *ctx, seq, ok, error);
      },
  };
}

} // namespace rundun
