#include "actors/recovery_actor.hpp"

#include "actors/actor_failure.hpp"
#include "actors/recovery_reads.hpp"
#include "net/log.hpp"

#include <boost/asio/post.hpp>
#include <caf/all.hpp>

namespace rundun {

namespace {

using self_ptr = caf::stateful_actor<recovery_actor_state>*;
using ctx_ptr = std::shared_ptr<const engine_context>;
using step_outcome = recovery_stepped::outcome;

/// How long a step that could not read or write the store waits before it tries again.
constexpr auto retry_delay = std::chrono::seconds{1};

constexpr auto in_progress_message =
    "a recovery of this url is still running: its events are being sent again; start another "
    "once it has finished";

recover_reply in_progress() {
  return {refusal_kind::recovery_in_progress, in_progress_message, 0, 0};
}

/// With no job and no start on its way, asks the directory to let it go.
void maybe_leave(self_ptr self, const engine_context& ctx) {
  auto& st = self->state;
  if (st.stepping || st.starting || st.asked_to_leave)
    return;
  st.asked_to_leave = true;
  self->send(ctx.delivery_directory, recover_atom::value, st.key, st.taken);
}

/// One page of a start's count, on the read thread; its first page (`from` none) checks
/// first that no recovery of the endpoint runs.
recovery_counted read_count_page(const engine_context& ctx, const std::string& key,
                                 std::uint64_t start, std::int64_t since_ms,
                                 const std::optional<list_position>& from) {
  recovery_counted m;
  m.start = start;
  if (!from) {
    auto running = read_recovery_running(*ctx.store, key);
    if (!running) {
      m.failure = running.error().message();
      return m;
    }
    if (*running) {
      m.running = true;
      return m;
    }
  }
  auto page = count_recovery_page(*ctx.store, key, since_ms, from);
  if (!page) {
    m.failure = page.error().message();
    return m;
  }
  m.recovering = page->recovering;
  m.skipped_webhook_disabled = page->skipped_webhook_disabled;
  m.more = page->next.has_value();
  if (page->next) {
    m.next_ms = page->next->ms;
    m.next_id = std::move(page->next->id);
  }
  return m;
}

/// Posts the next page of the start's count to the read thread.
void count_next(self_ptr self, const ctx_ptr& ctx, std::optional<list_position> from) {
  auto& start = *self->state.starting;
  boost::asio::post(*ctx->reads, [ctx, handle = caf::actor_cast<caf::actor>(self),
                                  key = self->state.key, number = start.number,
                                  since_ms = start.since_ms, from = std::move(from)] {
    caf::anon_send(handle, recover_atom::value, read_count_page(*ctx, key, number, since_ms, from));
  });
}

/// One step, on the read thread: reads the job and its next page, plans it, and queues
/// its commit on the store's writer itself, so the events go from the read to the writer
/// without passing through the actor. `handle` hears how it ended.
void read_and_queue_step(const engine_context& ctx, const caf::actor& handle,
                         const std::string& key) {
  auto tell = [&handle](step_outcome what, std::string why) {
    caf::anon_send(handle, recover_atom::value, recovery_stepped{what, std::move(why)});
  };
  auto next = read_recovery_step(*ctx.store, key);
  if (!next)
    return tell(step_outcome::read_failed, next.error().message());
  if (!*next)
    return tell(step_outcome::no_job, {});
  auto mark = [key, plan = std::move(**next),
               due = now()](persistence::write_batch& b) -> boost::system::error_code {
    for (auto& id : plan.send) {
      bool marked = false;
      if (auto ec = b.recover_event(id, due, marked))
        return ec;
    }
    return b.put_recovery_job(key, plan.job_after);
  };
  ctx.store->write(std::move(mark), [handle](boost::system::error_code ec) {
    auto what = ec ? step_outcome::write_failed : step_outcome::committed;
    caf::anon_send(handle, recover_atom::value,
                   recovery_stepped{what, ec ? ec.message() : std::string{}});
  });
}

/// Posts the next step to the read thread, unless one is under way.
void step(self_ptr self, const ctx_ptr& ctx) {
  auto& st = self->state;
  if (st.stepping) {
    st.step_again = true;
    return;
  }
  st.stepping = true;
  boost::asio::post(*ctx->reads, [ctx, handle = caf::actor_cast<caf::actor>(self), key = st.key] {
    read_and_queue_step(*ctx, handle, key);
  });
}

/// Answers the start under way and lets the job (if any) go on.
void finish_start(self_ptr self, const ctx_ptr& ctx, const recover_reply& reply) {
  auto& st = self->state;
  st.starting->promise.deliver(reply);
  st.starting.reset();
  // A job stored now starts stepping; with none, the step finds none and this actor leaves.
  step(self, ctx);
}

} // namespace

caf::behavior recovery_actor(self_ptr self, ctx_ptr ctx, std::string key, std::string url) {
  self->state.key = std::move(key);
  self->state.url = std::move(url);
  // A bug that throws here answers the request waiting, and ends this actor only: the
  // directory starts it again, and it resumes from the job in the store.
  self->set_exception_handler([](caf::scheduled_actor* p, std::exception_ptr& e) {
    auto* self = static_cast<self_ptr>(p);
    auto reason = describe_exception(e);
    if (auto& start = self->state.starting)
      start->promise.deliver(
          recover_reply{refusal_kind::engine_error, "the recovery failed; try again", 0, 0});
    self->state.starting.reset();
    return caf::make_error(caf::sec::runtime_error, std::move(reason));
  });
  return {
      [=](recover_atom, std::int64_t since_ms) -> caf::result<recover_reply> {
        auto& st = self->state;
        ++st.taken;
        st.asked_to_leave = false;
        // One start at a time: one under way ends in a job, or in a job found running.
        if (st.starting)
          return in_progress();
        st.starting =
            recovery_actor_state::start{++st.starts, self->make_response_promise(), since_ms, {}};
        count_next(self, ctx, std::nullopt);
        return st.starting->promise;
      },
      [=](recover_atom, recovery_counted& m) {
        auto& st = self->state;
        if (!st.starting || st.starting->number != m.start)
          return;
        if (!m.failure.empty()) {
          log::error("a recovery could not read the store",
                     {{"endpoint", st.key}, {"reason", m.failure}});
          return finish_start(
              self, ctx,
              {refusal_kind::storage_error, "the store could not be read: " + m.failure, 0, 0});
        }
        if (m.running)
          return finish_start(self, ctx, in_progress());
        auto& counted = st.starting->counted;
        counted.recovering += m.recovering;
        counted.skipped_webhook_disabled += m.skipped_webhook_disabled;
        if (m.more)
          return count_next(self, ctx, list_position{m.next_ms, std::move(m.next_id)});
        recovery_job job{st.starting->since_ms, std::nullopt, counted.recovering};
        // The recovery enables a disabled endpoint again (contract §7), in the job's commit.
        ctx->store->write(
            [key = st.key, job](persistence::write_batch& b) -> boost::system::error_code {
              RUNDUN_TRY(b.enable_endpoint(key, now()));
              return b.put_recovery_job(key, job);
            },
            [handle = caf::actor_cast<caf::actor>(self),
             start = st.starting->number](boost::system::error_code ec) {
              caf::anon_send(handle, recover_atom::value, start, !ec);
            });
      },
      [=](recover_atom, std::uint64_t start, bool ok) {
        auto& st = self->state;
        if (!st.starting || st.starting->number != start)
          return;
        auto reply = st.starting->counted;
        if (!ok)
          reply =
              recover_reply{refusal_kind::storage_error, "the recovery could not be stored", 0, 0};
        else // the endpoint reads that it is enabled again, before any event is sent again
          self->send(ctx->delivery_directory, wake_atom::value, st.key, st.url);
        finish_start(self, ctx, reply);
      },
      [=](recover_atom) {
        ++self->state.taken;
        self->state.asked_to_leave = false;
        step(self, ctx);
      },
      [=](recover_atom, const recovery_stepped& s) {
        auto& st = self->state;
        st.stepping = false;
        bool again = std::exchange(st.step_again, false);
        switch (s.what) {
        case step_outcome::committed:
          // The events it marked are on disk, pending: the endpoint pages them in.
          self->send(ctx->delivery_directory, wake_atom::value, st.key, st.url);
          return step(self, ctx);
        case step_outcome::no_job:
          if (again)
            return step(self, ctx);
          return maybe_leave(self, *ctx);
        case step_outcome::read_failed:
        case step_outcome::write_failed:
          log::error("a recovery step failed; it tries again",
                     {{"endpoint", st.key}, {"reason", s.failure}});
          self->delayed_send(self, retry_delay, tick_atom::value);
          return;
        }
      },
      [=](tick_atom) { step(self, ctx); },
      [=](leave_atom) { self->quit(); },
  };
}

} // namespace rundun
