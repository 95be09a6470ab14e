#include "actors/run_actor.hpp"

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
    auto photo = decode_photo(cmd.photo_json);
    if (!photo)
      return domain_error{
          error_kind::invalid_input, "invalid_image", "the photo is unreadable", {}};
    return add_photo(run, cmd.step_id, photo->id);
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

/// Turns the logic's new events into records, and the subscribed ones into delivery orders.
std::vector<event_record> make_records(self_ptr self, const engine_context& ctx,
                                       const std::vector<new_event>& events,
                                       std::vector<delivery_order>& orders) {
  auto& st = self->state;
  auto disabled = ctx.store->webhook_disabled(st.run.id);
  bool webhook_off = disabled && *disabled;
  std::vector<event_record> out;
  for (auto& e : events) {
    event_record rec;
    rec.id = make_event_id();
    rec.run = st.run.id;
    rec.type = e.type;
    rec.created_at = e.at;
    rec.seq = ctx.store->next_seq();
    bool subscribed = st.run.webhook && st.run.webhook->subscribes_to(e.type);
    if (!subscribed) {
      rec.delivery.status = delivery_status::not_subscribed;
    } else if (webhook_off) {
      rec.endpoint = st.endpoint;
      rec.delivery.status = delivery_status::failed;
      rec.delivery.error = "endpoint_gone";
    } else {
      rec.endpoint = st.endpoint;
      rec.delivery.next_attempt_at = e.at;
      orders.push_back({st.endpoint, st.run.webhook->url, rec.id.value, st.run.id.value, rec.seq,
                        static_cast<std::uint8_t>(e.type), to_unix_ms(e.at), e.data_json,
                        st.run.webhook->secret});
    }
    ctx.counters->events_created[static_cast<int>(e.type)].fetch_add(1, std::memory_order_relaxed);
    out.push_back(std::move(rec));
  }
  return out;
}

/// Persists the run with the command's events; the answer goes out once it is durable.
void persist(self_ptr self, const engine_context& ctx, const std::vector<new_event>& events,
             caf::response_promise* promise, const run_command* photo = nullptr) {
  auto& st = self->state;
  auto ticket = ++st.next_ticket;
  auto& pw = st.pending[ticket];
  if (promise) {
    pw.promise = std::move(*promise);
    pw.has_promise = true;
  }
  pw.ends_run = !st.run.active();
  auto records = make_records(self, ctx, events, pw.orders);
  std::vector<std::string> data;
  for (auto& e : events)
    data.push_back(e.data_json);
  const std::string& url = st.endpoint_url;
  // An upload's bytes (up to 10 MiB) are shared with the write, not copied into it.
  struct photo_payload {
    photo_record record;
    std::string bytes;
    std::string thumbnail;
  };
  std::shared_ptr<photo_payload> upload;
  if (photo)
    upload = std::make_shared<photo_payload>(
        photo_payload{*decode_photo(photo->photo_json), photo->photo_bytes, photo->thumbnail_jpeg});
  auto handle = caf::actor_cast<caf::actor>(self);
  ctx.store->write(
      [run = st.run, records = std::move(records), data = std::move(data), url,
       upload](persistence::write_batch& b) -> boost::system::error_code {
        if (auto ec = b.put_run(run))
          return ec;
        if (upload)
          if (auto ec = b.put_photo(upload->record, upload->bytes, upload->thumbnail))
            return ec;
        for (std::size_t i = 0; i < records.size(); ++i)
          if (auto ec = b.put_event(records[i], data[i], records[i].endpoint.empty() ? "" : url))
            return ec;
        return {};
      },
      [handle, ticket](boost::system::error_code ec) {
        caf::anon_send(handle, committed_atom::value, ticket, !ec);
      });
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

} // namespace

caf::behavior run_actor(self_ptr self, std::shared_ptr<const engine_context> ctx, run_record run) {
  self->state.run = std::move(run);
  if (self->state.run.webhook)
    if (auto u = net::parse_url(self->state.run.webhook->url)) {
      self->state.endpoint = net::endpoint_key(*u);
      self->state.endpoint_url = u->normalized();
    }
  ctx->counters->active_runs.fetch_add(1, std::memory_order_relaxed);
  self->attach_functor(
      [c = ctx->counters] { c->active_runs.fetch_sub(1, std::memory_order_relaxed); });
  schedule_expiry(self, ctx->run_idle_timeout);
  self->state.last_activity = std::chrono::steady_clock::now();
  self->delayed_send(self, ctx->run_idle_timeout, idle_atom::value);
  return {
      [=](command_atom, const run_command& cmd) -> caf::result<command_reply> {
        auto& st = self->state;
        st.last_activity = std::chrono::steady_clock::now();
        auto at = now();
        // A command that arrives after expires_at finds the run expired, even if the timer
        // has not fired yet.
        if (expiry_due(st.run, at)) {
          auto expired = expire_run(st.run);
          persist(self, *ctx, *expired, nullptr);
        }
        // The logic leaves the run untouched when it refuses: no copy to roll back to.
        auto result = apply(*ctx, st.run, cmd, at);
        if (!result)
          return command_reply::refusal(result.error());
        auto promise = self->make_response_promise();
        persist(self, *ctx, *result, &promise,
                cmd.action == run_action::add_photo ? &cmd : nullptr);
        return promise;
      },
      [=](idle_atom) {
        auto& st = self->state;
        auto idle = std::chrono::steady_clock::now() - st.last_activity;
        if (st.ended)
          return;
        if (idle < ctx->run_idle_timeout || !st.pending.empty()) {
          auto left =
              std::chrono::duration_cast<std::chrono::milliseconds>(ctx->run_idle_timeout - idle);
          return self->delayed_send(self, std::max(left, std::chrono::milliseconds{1}),
                                    idle_atom::value);
        }
        // Nobody works on this run: leave. Its state is on disk, and the next command (or the
        // expiry scheduler) brings an actor back.
        st.ended = true;
        self->send(ctx->run_directory, ended_atom::value, st.run.id.value);
        self->quit();
      },
      [=](expire_atom) {
        auto& st = self->state;
        if (!st.run.active())
          return;
        if (!expiry_due(st.run, now()))
          return schedule_expiry(self,
                                 ctx->run_idle_timeout); // the timer came early: wait for the rest
        auto expired = expire_run(st.run);
        persist(self, *ctx, *expired, nullptr);
      },
      [=](committed_atom, std::uint64_t ticket, bool ok) {
        auto& st = self->state;
        auto it = st.pending.find(ticket);
        if (it == st.pending.end())
          return;
        auto pw = std::move(it->second);
        st.pending.erase(it);
        if (!ok) {
          // The store refused the write: memory is now ahead of the disk. Answer with the
          // failure and leave; the next command reloads the run from the store.
          if (pw.has_promise)
            pw.promise.deliver(command_reply::refusal(
                {error_kind::storage, "storage_error", "the change could not be stored", {}}));
          st.ended = true;
          self->send(ctx->run_directory, ended_atom::value, st.run.id.value);
          self->quit();
          return;
        }
        for (auto& order : pw.orders)
          self->send(ctx->delivery_directory, deliver_atom::value, std::move(order));
        if (pw.has_promise)
          pw.promise.deliver(command_reply::success(encode(st.run)));
        if (pw.ends_run && st.pending.empty() && !st.ended) {
          st.ended = true;
          self->send(ctx->run_directory, ended_atom::value, st.run.id.value);
          self->quit();
        }
      },
  };
}

} // namespace rundun
