#include "actors/run_actor.hpp"

#include "actors/actor_failure.hpp"
#include "actors/run_logic.hpp"
#include "net/log.hpp"
#include "net/url.hpp"
#include "persistence/record_codec.hpp"

#include <caf/all.hpp>

namespace rundun {

namespace {

using self_ptr = caf::stateful_actor<run_actor_state>*;

/// The photos of a step with their thumbnails, for its `step.completed` event.
std::vector<photo_with_thumbnail> step_photos(const engine_context& ctx, run_record& run,
                                              std::string_view step_id) {
  std::vector<photo_with_thumbnail> out;
  if (auto* step = run.find_step(step_id))
    for (auto& id : step->photos)
      if (auto p = ctx.store->photo_thumbnail(photo_id{id}); p && *p)
        out.push_back(std::move(**p));
  return out;
}

transition apply(const engine_context& ctx, run_record& run, const run_command& cmd,
                 time_point now) {
  switch (cmd.action) {
  case run_action::answer:
    return answer_step(run, cmd.step_id, cmd.answer_json, now, step_photos(ctx, run, cmd.step_id));
  case run_action::add_photo: {
    if (!cmd.photo)
      return domain_error{
          error_kind::invalid_input, "invalid_image", "the photo is unreadable", {}};
    return add_photo(run, cmd.step_id, cmd.photo->record.id);
  }
  case run_action::skip:
    return skip_step(run, cmd.step_id, now);
  case run_action::submit:
    return submit_run(run, now);
  case run_action::exit:
    return cancel_run(run, cancel_reason::executor_exit, now);
  case run_action::cancel:
    return cancel_run(run, cancel_reason::api, now);
  }
  return domain_error{error_kind::invalid_input, "invalid_action", "unknown action", {}};
}

/// A new event as it goes to the store: its record, and its `data` shared with its order.
struct made_event {
  event_record record;
  std::shared_ptr<const std::string> data;
};

/// Turns the logic's new events into records, and the subscribed ones into delivery orders.
std::vector<made_event> make_records(self_ptr self, const engine_context& ctx,
                                     std::vector<new_event>& events,
                                     std::vector<delivery_order>& orders) {
  auto& st = self->state;
  std::vector<made_event> out;
  out.reserve(events.size());
  for (auto& e : events) {
    made_event made{{}, std::make_shared<const std::string>(std::move(e.data_json))};
    auto& rec = made.record;
    rec.id = ctx.ids.event();
    rec.run = st.run.id;
    rec.type = e.type;
    rec.created_at = e.at;
    rec.seq = ctx.store->next_seq();
    bool subscribed = st.run.webhook && st.run.webhook->subscribes_to(e.type);
    if (!subscribed) {
      rec.delivery.status = delivery_status::not_subscribed;
    } else if (st.webhook_off) {
      rec.endpoint = st.endpoint;
      rec.delivery.status = delivery_status::failed;
      rec.delivery.error = "endpoint_gone";
    } else {
      rec.endpoint = st.endpoint;
      rec.delivery.next_attempt_at = e.at;
      orders.push_back({st.endpoint, st.run.webhook->url, rec.id, st.run.id, rec.seq, e.type,
                        to_unix_ms(e.at), made.data, st.run.webhook->secret, 0});
    }
    ctx.counters->events_created[static_cast<int>(e.type)].fetch_add(1, std::memory_order_relaxed);
    out.push_back(std::move(made));
  }
  return out;
}

/// Persists the run with the events of one change. Its answer (if it has a caller) goes out
/// once it is durable; its delivery orders go now, with the write's commit_gate, so that an
/// endpoint can have a first request ready to leave at the commit. Only one write of a run
/// is in flight.
void persist(self_ptr self, const engine_context& ctx, std::vector<new_event>& events,
             command_reply_to reply, const run_command* cmd = nullptr) {
  auto& st = self->state;
  auto ticket = ++st.next_ticket;
  st.writing.emplace();
  st.writing->ticket = ticket;
  st.writing->reply = std::move(reply);
  std::vector<delivery_order> orders;
  auto records = make_records(self, ctx, events, orders);
  const std::string& url = st.endpoint_url;
  // An upload's bytes (up to 10 MiB) go to the write as they are: shared, never copied.
  std::shared_ptr<const photo_upload> upload;
  if (cmd && cmd->action == run_action::add_photo)
    upload = cmd->photo;
  std::function<bool()> injected_failure;
  if (cmd && ctx.faults.fail_run_write)
    injected_failure = [f = ctx.faults.fail_run_write, id = st.run.id.value,
                        action = to_string(cmd->action),
                        step = cmd->step_id] { return f(id, action, step); };
  auto gate = orders.empty() ? nullptr : std::make_shared<commit_gate>();
  auto handle = caf::actor_cast<caf::actor>(self);
  ctx.store->write(
      [run = st.run, records = std::move(records), url, upload,
       injected_failure](persistence::write_batch& b) -> boost::system::error_code {
        if (injected_failure && injected_failure())
          return make_error_code(boost::system::errc::io_error);
        if (auto ec = b.put_run(run))
          return ec;
        if (upload)
          if (auto ec = b.put_photo(upload->record, upload->bytes, upload->thumbnail_jpeg))
            return ec;
        for (auto& e : records)
          if (auto ec = b.put_event(e.record, *e.data, e.record.endpoint.empty() ? "" : url))
            return ec;
        return {};
      },
      [handle, ticket, gate, store = ctx.store](boost::system::error_code ec) {
        // On the writer, right after this commit: the mark is this commit's own. The gate
        // first: a request waiting in it leaves now.
        if (gate)
          ec ? gate->fail() : gate->open(store->commit_mark());
        caf::anon_send(handle, committed_atom::value, ticket, ec ? ec.message() : std::string{});
      });
  for (auto& order : orders) {
    order.gate = gate;
    self->send(ctx.delivery_directory, deliver_atom::value, std::move(order));
  }
}

/// Arms the actor's own expiry timer, but only when the expiry is near: a pending CAF timer
/// keeps its actor in memory until it fires, even after the actor quit, so a 30-day timer
/// per activation would pin every actor a run ever had. Far expiries are the expiry
/// scheduler's.
void schedule_expiry(self_ptr self, std::chrono::milliseconds horizon) {
  auto left = self->state.run.expires_at - now();
  if (left > horizon)
    return;
  self->delayed_send(self, std::max(left, std::chrono::milliseconds{0}), expire_atom::value);
}

void leave(self_ptr self, const engine_context& ctx) {
  auto& st = self->state;
  if (st.ended)
    return;
  st.ended = true;
  self->send(ctx.run_directory, ended_atom::value, st.run.id.value);
  self->quit();
}

/// Applies one piece of work to the run: a command (answered now when refused, else once its
/// change is durable) or the expiry. Called only while no write is in flight.
void process(self_ptr self, const engine_context& ctx, run_actor_state::waiting_work work) {
  auto& st = self->state;
  auto at = now();
  // Work that arrives after expires_at finds the run expired, even if the timer has not
  // fired yet; a command waits for the expiry's write and is then refused.
  if (expiry_due(st.run, at)) {
    auto expired = expire_run(st.run);
    persist(self, ctx, *expired, {});
    if (work.command)
      st.waiting.push_front(std::move(work));
    return;
  }
  if (!work.command) {
    if (st.run.active())
      schedule_expiry(self, ctx.run_idle_timeout); // the timer came early: wait for the rest
    return;
  }
  auto& cmd = *work.command;
  if (auto refusal = refuse_on_ended(st.run, cmd.action))
    return cmd.reply_to.deliver(command_reply::refusal(*refusal));
  // The logic leaves the run untouched when it refuses: no copy to roll back to.
  auto result = apply(ctx, st.run, cmd, at);
  if (!result)
    return cmd.reply_to.deliver(command_reply::refusal(result.error()));
  persist(self, ctx, *result, std::move(cmd.reply_to), &cmd);
}

/// Works through what waited for the last write, then leaves if the run has ended.
void resume(self_ptr self, const engine_context& ctx) {
  auto& st = self->state;
  while (!st.writing && !st.waiting.empty()) {
    auto next = std::move(st.waiting.front());
    st.waiting.pop_front();
    process(self, ctx, std::move(next));
  }
  if (!st.writing && st.waiting.empty() && !st.run.active())
    leave(self, ctx);
}

/// Takes new work: now if no write is in flight, else after it.
void submit(self_ptr self, const engine_context& ctx, run_actor_state::waiting_work work) {
  auto& st = self->state;
  if (st.writing) {
    st.waiting.push_back(std::move(work));
    return;
  }
  process(self, ctx, std::move(work));
  resume(self, ctx);
}

void on_committed(self_ptr self, const engine_context& ctx, std::uint64_t ticket,
                  const std::string& failure) {
  bool ok = failure.empty();
  auto& st = self->state;
  if (!st.writing || st.writing->ticket != ticket)
    return;
  auto done = std::move(*st.writing);
  st.writing.reset();
  if (ok) {
    done.reply.deliver(command_reply::success(st.run));
    return resume(self, ctx);
  }
  // The store refused the write, and nothing of it is on disk: the run in memory is ahead
  // of the store. Answer with the failure, and go on from the run as the store has it.
  log::error("a run's change could not be stored",
             {{"run_id", st.run.id.value}, {"reason", failure}});
  done.reply.deliver(command_reply::refusal(
      {error_kind::storage, "storage_error", "the change could not be stored: " + failure, {}}));
  auto stored = ctx.store->find_run(st.run.id);
  if (!stored || !*stored) {
    // Not even readable: refuse what waits and leave; the next command tries the store again.
    for (auto& w : st.waiting)
      if (w.command)
        w.command->reply_to.deliver(command_reply::refusal(
            {error_kind::storage, "storage_error", "the run could not be read back", {}}));
    st.waiting.clear();
    return leave(self, ctx);
  }
  st.run = std::move(**stored);
  resume(self, ctx);
}

} // namespace

caf::behavior run_actor(self_ptr self, std::shared_ptr<const engine_context> ctx, run_record run) {
  self->state.run = std::move(run);
  if (self->state.run.webhook)
    if (auto u = net::parse_url(self->state.run.webhook->url)) {
      self->state.endpoint = net::endpoint_key(*u);
      self->state.endpoint_url = u->normalized();
    }
  // Whether a 410 turned the run's webhook off: read once here, then kept by the endpoint's
  // (webhook_off_atom), so that no event reads the store for it.
  if (self->state.run.webhook) {
    auto off = ctx->store->webhook_disabled(self->state.run.id);
    self->state.webhook_off = off && *off;
  }
  ctx->counters->run_actors.fetch_add(1, std::memory_order_relaxed);
  self->attach_functor(
      [c = ctx->counters] { c->run_actors.fetch_sub(1, std::memory_order_relaxed); });
  // A bug that throws in this actor ends this actor only. Everything that waits on it gets
  // an answer first; the directory counts the failure and forgets the actor, and the next
  // command reads the run from the store into a fresh one.
  self->set_exception_handler([ctx](caf::scheduled_actor* p, std::exception_ptr& e) {
    auto* self = static_cast<self_ptr>(p);
    auto& st = self->state;
    auto reason = describe_exception(e);
    log::error("a run actor failed", {{"run_id", st.run.id.value}, {"reason", reason}});
    auto failure = command_reply::refusal(
        {error_kind::storage,
         "engine_error",
         "the run failed while taking the command; read the run to see its state",
         {}});
    st.in_hand.deliver(failure);
    if (st.writing)
      st.writing->reply.deliver(failure);
    for (auto& w : st.waiting)
      if (w.command)
        w.command->reply_to.deliver(failure);
    st.waiting.clear();
    if (st.writing && !st.endpoint.empty()) {
      // The write in flight may still commit. Its events' orders went to the endpoint with
      // its gate; should that endpoint have failed meanwhile, the wake makes it page them
      // in once the write is done (the store commits in order).
      ctx->store->write([](persistence::write_batch&) { return boost::system::error_code{}; },
                        [dd = ctx->delivery_directory, key = st.endpoint,
                         url = st.run.webhook->url](boost::system::error_code) {
                          caf::anon_send(dd, wake_atom::value, key, url);
                        });
    }
    st.writing.reset();
    st.ended = true;
    self->send(ctx->run_directory, ended_atom::value, st.run.id.value);
    return caf::make_error(caf::sec::runtime_error, std::move(reason));
  });
  schedule_expiry(self, ctx->run_idle_timeout);
  // No idle timer of its own: a pending CAF timer pins its actor in memory until it fires,
  // even after the actor quit, so every run that ended would stay for a whole idle period.
  // The run directory's one sweep asks resident actors instead.
  self->state.last_activity = std::chrono::steady_clock::now();
  return {
      [=](command_atom, run_command& cmd) {
        auto& st = self->state;
        // Answered by the exception handler if this handler throws: the command would
        // otherwise be dropped with the actor, and sent again as if it never arrived.
        st.in_hand = cmd.reply_to;
        if (ctx->faults.on_message)
          ctx->faults.on_message("run", st.run.id.value);
        st.last_activity = std::chrono::steady_clock::now();
        submit(self, *ctx, {std::move(cmd)});
        st.in_hand = {};
      },
      [=](idle_atom) {
        auto& st = self->state;
        auto idle = std::chrono::steady_clock::now() - st.last_activity;
        if (st.ended || idle < ctx->run_idle_timeout || st.writing || !st.waiting.empty())
          return;
        // Nobody works on this run: leave. Its state is on disk, and the next command (or the
        // expiry scheduler) brings an actor back.
        leave(self, *ctx);
      },
      [=](expire_atom) {
        if (self->state.run.active())
          submit(self, *ctx, {std::nullopt});
      },
      [=](committed_atom, std::uint64_t ticket, const std::string& failure) {
        on_committed(self, *ctx, ticket, failure);
      },
      [=](webhook_off_atom) { self->state.webhook_off = true; },
  };
}

} // namespace rundun
