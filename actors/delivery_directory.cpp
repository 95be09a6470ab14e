#include "actors/delivery_directory.hpp"

#include "actors/endpoint_actor.hpp"
#include "actors/messages.hpp"
#include "actors/recovery_actor.hpp"
#include "net/log.hpp"

#include <caf/all.hpp>

namespace rundun {

namespace {

using self_ptr = caf::stateful_actor<delivery_directory_state>*;
using entry = delivery_directory_state::endpoint_entry;

/// How long a failed endpoint waits before it starts again: a bug that fails on the same
/// stored event every time does not spin.
constexpr auto restart_delay = std::chrono::seconds{1};

/// A drain: answered once every endpoint actor has answered its own.
struct drain_wait {
  caf::response_promise promise;
  std::size_t outstanding = 0;
};

/// The endpoint's entry, with an actor spawned for it if it has none. `spawned` tells which.
entry& endpoint_for(self_ptr self, const std::shared_ptr<const engine_context>& ctx,
                    const std::string& key, const std::string& url, bool* spawned = nullptr) {
  auto& eps = self->state.endpoints;
  if (auto it = eps.find(key); it != eps.end()) {
    if (spawned)
      *spawned = false;
    return it->second;
  }
  if (spawned)
    *spawned = true;
  // Monitored, not linked, as run actors are (run_directory.cpp): a link's entry on the
  // directory's own list makes each child's exit cost O(children).
  auto a = self->spawn<caf::monitored>(endpoint_actor, ctx, key, url);
  return eps.emplace(key, entry{a, url, 0}).first->second;
}

/// The endpoint's recovery actor, spawned if it has none, counted as sent one request.
delivery_directory_state::recovery_entry&
recovery_for(self_ptr self, const std::shared_ptr<const engine_context>& ctx,
             const std::string& key, const std::string& url) {
  auto& all = self->state.recoveries;
  auto it = all.find(key);
  if (it == all.end())
    it = all.emplace(key,
                     delivery_directory_state::recovery_entry{
                         self->spawn<caf::monitored>(recovery_actor, ctx, key, url), url, 0})
             .first;
  ++it->second.sent;
  return it->second;
}

/// Sends `xs` to the endpoint's actor as work: the idle handshake counts it.
template <class... Ts>
void send_work(self_ptr self, entry& e, Ts&&... xs) {
  ++e.work_sent;
  self->send(e.actor, std::forward<Ts>(xs)...);
}

/// An exit of a recovery actor: one that failed resumes from its stored job a moment later.
/// False for an exit that is not a recovery actor's.
bool on_recovery_exit(self_ptr self, const caf::down_msg& msg) {
  auto& recoveries = self->state.recoveries;
  for (auto it = recoveries.begin(); it != recoveries.end(); ++it)
    if (it->second.actor.address() == msg.source) {
      if (msg.reason) {
        log::error("a recovery actor failed; it starts again", {{"endpoint", it->first}});
        self->delayed_send(self, restart_delay, recover_atom::value, it->first, it->second.url);
      }
      recoveries.erase(it);
      return true;
    }
  return false;
}

/// An endpoint actor that ended with an error (it answered its waiters and logged why) is
/// counted, forgotten, and started again a moment later from the store; the others never
/// notice.
void on_down(self_ptr self, const engine_context& ctx, caf::down_msg& msg) {
  if (on_recovery_exit(self, msg))
    return;
  if (!msg.reason)
    return; // an idle endpoint or a finished recovery that left; already forgotten
  ctx.counters->endpoint_actor_failures.fetch_add(1, std::memory_order_relaxed);
  auto& eps = self->state.endpoints;
  for (auto it = eps.begin(); it != eps.end(); ++it)
    if (it->second.actor.address() == msg.source) {
      self->delayed_send(self, restart_delay, wake_atom::value, it->first, it->second.url);
      eps.erase(it);
      return;
    }
}

/// The exit the engine sends the directory (shutdown) stops every endpoint and recovery
/// actor, then the directory.
void on_exit(self_ptr self, caf::exit_msg& msg) {
  for (auto& [key, e] : self->state.endpoints)
    self->send_exit(e.actor, msg.reason);
  for (auto& [key, r] : self->state.recoveries)
    self->send_exit(r.actor, msg.reason);
  self->quit(msg.reason);
}

/// A recovery actor with no job left, after `taken` requests: it leaves unless more are on
/// their way to it (then it stays, and asks again when done).
void on_recovery_done(self_ptr self, const std::string& key, std::uint64_t taken) {
  auto& all = self->state.recoveries;
  auto it = all.find(key);
  if (it == all.end() || it->second.sent != taken)
    return;
  auto a = it->second.actor;
  all.erase(it);
  self->send(a, leave_atom::value);
}

/// The idle endpoint actor of `key`, which took `work_taken` messages of work, asks to leave:
/// it may when nothing more is on its way to it. Found by its key, not by a scan of every
/// endpoint, so that a sweep over many idle endpoints costs O(endpoints), not O(endpoints²).
void on_endpoint_idle(self_ptr self, const std::string& key, std::uint64_t work_taken) {
  auto& sender = self->current_sender();
  auto& eps = self->state.endpoints;
  auto it = eps.find(key);
  // An actor the directory has replaced already (it failed, or left and was spawned anew)
  // is not the one this key names now.
  if (!sender || it == eps.end() || it->second.actor.address() != sender->address())
    return;
  if (it->second.work_sent != work_taken)
    return self->send(it->second.actor, idle_atom::value, true); // stay
  // Nothing is on its way to it: forget it first, so that new work spawns a fresh actor, then
  // let it go.
  auto a = it->second.actor;
  eps.erase(it);
  self->send(a, leave_atom::value);
}

/// Answers `true` once every endpoint actor has answered its own drain (or is gone).
caf::result<bool> drain(self_ptr self) {
  auto& eps = self->state.endpoints;
  if (eps.empty())
    return true;
  auto g = std::make_shared<drain_wait>();
  g->promise = self->make_response_promise();
  g->outstanding = eps.size();
  for (auto& [key, e] : eps)
    self->request(e.actor, caf::infinite, drain_atom::value)
        .then(
            [g](bool) {
              if (--g->outstanding == 0)
                g->promise.deliver(true);
            },
            [g](caf::error&) {
              if (--g->outstanding == 0)
                g->promise.deliver(true);
            });
  return g->promise;
}

} // namespace

caf::behavior delivery_directory(self_ptr self, std::shared_ptr<const engine_context> ctx) {
  self->set_down_handler([self, ctx](caf::down_msg& msg) { on_down(self, *ctx, msg); });
  self->set_exit_handler([self](caf::exit_msg& msg) { on_exit(self, msg); });
  // One timer for all endpoint actors: each sweep lets the idle ones ask to leave.
  auto sweep_every = std::max<std::chrono::milliseconds>(ctx->endpoint_idle_timeout / 2,
                                                         std::chrono::milliseconds{10});
  self->delayed_send(self, sweep_every, idle_atom::value);
  return {
      [=](idle_atom) {
        for (auto& [key, e] : self->state.endpoints)
          self->send(e.actor, idle_atom::value);
        self->delayed_send(self, sweep_every, idle_atom::value);
      },
      [=](deliver_atom, delivery_order& order) {
        auto& e = endpoint_for(self, ctx, order.endpoint, order.url);
        send_work(self, e, deliver_atom::value, std::move(order));
      },
      [=](wake_atom, const std::string& key, const std::string& url) {
        bool spawned = false;
        auto& e = endpoint_for(self, ctx, key, url, &spawned);
        if (!spawned) // a new actor pages in on its own
          send_work(self, e, wake_atom::value);
      },
      [=](redeliver_atom, const std::string& key, const std::string& url,
          const std::string& event) -> caf::result<redeliver_reply> {
        auto rp = self->make_response_promise();
        auto& e = endpoint_for(self, ctx, key, url);
        ++e.work_sent;
        rp.delegate(e.actor, redeliver_atom::value, event);
        return rp;
      },
      [=](recover_atom, const std::string& key, const std::string& url,
          std::int64_t since_ms) -> caf::result<recover_reply> {
        auto rp = self->make_response_promise();
        rp.delegate(recovery_for(self, ctx, key, url).actor, recover_atom::value, since_ms);
        return rp;
      },
      [=](recover_atom, const std::string& key, const std::string& url) {
        self->send(recovery_for(self, ctx, key, url).actor, recover_atom::value);
      },
      [=](recover_atom, const std::string& key, std::uint64_t taken) {
        on_recovery_done(self, key, taken);
      },
      [=](idle_atom, const std::string& key, std::uint64_t work_taken) {
        on_endpoint_idle(self, key, work_taken);
      },
      [=](drain_atom) -> caf::result<bool> { return drain(self); },
  };
}

} // namespace rundun
