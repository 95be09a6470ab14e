#include "actors/recovery_actor.hpp"

#include "actors/actor_failure.hpp"
#include "actors/recovery_plan.hpp"
#include "net/log.hpp"

#include <unordered_map>

#include <caf/all.hpp>

namespace rundun {

namespace {

using self_ptr = caf::stateful_actor<recovery_actor_state>*;

/// How long a step that could not read or write the store waits before it tries again.
constexpr auto retry_delay = std::chrono::seconds{1};
/// Failed events a start's count reads per transaction.
constexpr std::size_t count_page = 1024;

/// Looks up, once per run, whether a run's webhook was turned off by a 410.
class webhook_off_cache {
public:
  explicit webhook_off_cache(const persistence::store& s) : store_(s) {}
  bool operator()(const run_id& run) {
    auto it = off_.find(run.value);
    if (it == off_.end()) {
      auto off = store_.webhook_disabled(run);
      it = off_.emplace(run.value, off && *off).first;
    }
    return it->second;
  }

private:
  const persistence::store& store_;
  std::unordered_map<std::string, bool> off_;
};

/// Counts the events a recovery from `since_ms` would send, and those it leaves out.
std::optional<recover_reply> count(const engine_context& ctx, const std::string& key,
                                   std::int64_t since_ms) {
  recover_reply r;
  webhook_off_cache off{*ctx.store};
  std::optional<list_position> from;
  for (;;) {
    auto page = ctx.store->failed_events(key, since_ms, from, count_page);
    if (!page)
      return std::nullopt;
    for (auto& [at, e] : *page)
      ++(off(e.run) ? r.skipped_webhook_disabled : r.recovering);
    if (page->size() < count_page)
      return r;
    from = page->back().first;
  }
}

/// With no job and no start on its way, asks the directory to let it go.
void maybe_leave(self_ptr self, const engine_context& ctx) {
  auto& st = self->state;
  if (st.stepping || !st.waiting.empty() || st.asked_to_leave)
    return;
  st.asked_to_leave = true;
  self->send(ctx.delivery_directory, recover_atom::value, st.key, st.taken);
}

/// The store could not be read: a step is tried again a moment later.
void retry_later(self_ptr self, const boost::system::error_code& ec) {
  log::error("a recovery could not read the store; it tries again",
             {{"endpoint", self->state.key}, {"reason", ec.message()}});
  self->delayed_send(self, retry_delay, tick_atom::value);
}

void step(self_ptr self, const engine_context& ctx) {
  auto& st = self->state;
  if (st.stepping)
    return;
  auto job = ctx.store->recovery(st.key);
  if (!job)
    return retry_later(self, job.error());
  if (!*job)
    return maybe_leave(self, ctx);
  auto failed =
      ctx.store->failed_events(st.key, (*job)->since_ms, (*job)->marked_up_to, recovery_step_size);
  if (!failed)
    return retry_later(self, failed.error());
  webhook_off_cache off{*ctx.store};
  auto plan = plan_recovery_step(**job, *failed, recovery_step_size,
                                 [&](const run_id& run) { return off(run); });
  st.stepping = true;
  auto handle = caf::actor_cast<caf::actor>(self);
  ctx.store->write(
      [key = st.key, plan = std::move(plan),
       due = now()](persistence::write_batch& b) -> boost::system::error_code {
        for (auto& id : plan.send) {
          bool marked = false;
          if (auto ec = b.recover_event(id, due, marked))
            return ec;
        }
        return b.put_recovery_job(key, plan.job_after);
      },
      [handle](boost::system::error_code ec) { caf::anon_send(handle, recover_atom::value, !ec); });
}

} // namespace

caf::behavior recovery_actor(self_ptr self, std::shared_ptr<const engine_context> ctx,
                             std::string key, std::string url) {
  self->state.key = std::move(key);
  self->state.url = std::move(url);
  // A bug that throws here answers the requests waiting, and ends this actor only: the
  // directory starts it again, and it resumes from the job in the store.
  self->set_exception_handler([](caf::scheduled_actor* p, std::exception_ptr& e) {
    auto* self = static_cast<self_ptr>(p);
    auto reason = describe_exception(e);
    for (auto& [start, waiting] : self->state.waiting)
      waiting.first.deliver(recover_reply{"engine_error", "the recovery failed; try again", 0, 0});
    self->state.waiting.clear();
    return caf::make_error(caf::sec::runtime_error, std::move(reason));
  });
  return {
      [=](recover_atom, std::int64_t since_ms) -> caf::result<recover_reply> {
        auto& st = self->state;
        ++st.taken;
        st.asked_to_leave = false;
        auto counted = count(*ctx, st.key, since_ms);
        if (!counted)
          return recover_reply{"storage_error", "the store could not be read", 0, 0};
        auto start = ++st.starts;
        auto rp = self->make_response_promise();
        st.waiting.emplace(start, std::make_pair(rp, *counted));
        // The job replaces one in progress: its events marked so far stay marked.
        recovery_job job{since_ms, std::nullopt, counted->recovering};
        auto handle = caf::actor_cast<caf::actor>(self);
        ctx->store->write([key = st.key, job](
                              persistence::write_batch& b) { return b.put_recovery_job(key, job); },
                          [handle, start](boost::system::error_code ec) {
                            caf::anon_send(handle, recover_atom::value, start, !ec);
                          });
        return rp;
      },
      [=](recover_atom, std::uint64_t start, bool ok) {
        auto& st = self->state;
        auto it = st.waiting.find(start);
        if (it == st.waiting.end())
          return;
        auto [rp, reply] = std::move(it->second);
        st.waiting.erase(it);
        if (!ok)
          reply = recover_reply{"storage_error", "the recovery could not be stored", 0, 0};
        rp.deliver(reply);
        step(self, *ctx);
      },
      [=](recover_atom) {
        ++self->state.taken;
        self->state.asked_to_leave = false;
        step(self, *ctx);
      },
      [=](recover_atom, bool ok) {
        auto& st = self->state;
        st.stepping = false;
        if (!ok) {
          log::error("a recovery step could not be stored; it tries again", {{"endpoint", st.key}});
          self->delayed_send(self, retry_delay, tick_atom::value);
          return;
        }
        // The events it marked are on disk, pending: the endpoint pages them in.
        self->send(ctx->delivery_directory, wake_atom::value, st.key, st.url);
        step(self, *ctx);
      },
      [=](tick_atom) { step(self, *ctx); },
      [=](leave_atom) { self->quit(); },
  };
}

} // namespace rundun
