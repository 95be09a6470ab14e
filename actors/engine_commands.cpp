// The engine's commands: what changes templates, runs and deliveries. Each answers once,
// after its change is durable (see engine.hpp); photo uploads are in engine_photos.cpp.

#include "actors/engine_impl.hpp"

#include "actors/messages.hpp"
#include "persistence/record_codec.hpp"
#include "persistence/store.hpp"

#include <caf/all.hpp>

namespace rundun {

using namespace engine_detail;

namespace {

/// Sends a request to `dest` from a short-lived actor of `system` and hands the answer to
/// `on_reply`, or the error to `on_error`. Callable from any thread.
template <class Reply, class OnReply, class OnError, class... Ts>
void ask(caf::actor_system& system, caf::actor dest, OnReply on_reply, OnError on_error, Ts... xs) {
  // The arguments are moved into the request, not copied: a photo command carries up to
  // 10 MiB.
  system.spawn(
      [dest, on_reply, on_error, ... xs = std::move(xs)](caf::event_based_actor* self) mutable {
        // No timeout: CAF keeps a request's timeout timer, and with it the requesting actor and
        // its captures, alive until the timer fires, even after the answer came: at thousands
        // of commands a second that held hundreds of MiB. Every request here is answered, with
        // a reply or with an error when its receiver is gone.
        self->request(dest, caf::infinite, std::move(xs)...)
            .then([=](Reply& r) { on_reply(r); }, [=](caf::error& e) { on_error(e); });
      });
}

} // namespace

std::optional<domain_error> engine::impl::shed_if_store_busy() const {
  if (store->queue_depth() <= opts.store_queue_limit)
    return std::nullopt;
  return domain_error{error_kind::overloaded,
                      "overloaded",
                      "the server is storing too much at once; try again shortly",
                      {}};
}

void engine::impl::command(run_command cmd, callback<run_record> done, bool first_try) {
  if (auto busy = shed_if_store_busy())
    return done(*busy);
  // Kept for the one retry below, without its reply (a photo's bytes are shared).
  auto again = cmd;
  auto on_reply = [done](command_reply&& r) {
    if (!r.ok)
      return done(r.error());
    done(std::move(r.run));
  };
  auto on_dropped = [this, done, again = std::move(again), first_try]() mutable {
    // The run actor left between the directory's lookup and our command (its run just
    // ended): send it again, and the directory answers from the store.
    if (first_try && !closing.load())
      return command(std::move(again), std::move(done), false);
    done(domain_error{
        error_kind::storage, "engine_error", "the run could not take the command", {}});
  };
  cmd.reply_to = command_reply_to{std::move(on_reply), std::move(on_dropped)};
  caf::anon_send(ctx->run_directory, command_atom::value, std::move(cmd));
}

void engine::create_template(const template_spec& spec, callback<template_record> done) {
  if (auto busy = impl_->shed_if_store_busy())
    return done(*busy);
  auto rec = make_template(spec, now(), impl_->ctx->ids);
  if (!rec)
    return done(rec.error());
  impl_->store_template(*rec, std::nullopt, std::move(done));
}

void engine::adopt_template(const template_record& rec, callback<template_record> done) {
  impl_->store_template(rec, std::nullopt, std::move(done));
}

void engine::impl::store_template(const template_record& rec, std::optional<idempotency_record> key,
                                  callback<template_record> done) {
  if (key)
    key->created = encode(rec);
  store->write(
      [rec, key = std::move(key)](persistence::write_batch& b) -> boost::system::error_code {
        RUNDUN_TRY(b.put_template(rec));
        return key ? b.put_idempotency_key(*key) : boost::system::error_code{};
      },
      [rec, done](boost::system::error_code ec) {
        if (ec)
          return done(storage_failure(ec));
        done(rec);
      });
}

void engine::create_run(const run_spec& spec, callback<created_run> done) {
  if (auto busy = impl_->shed_if_store_busy())
    return done(*busy);
  impl_->store_run(spec, std::nullopt, std::move(done));
}

void engine::impl::store_run(const run_spec& spec, std::optional<idempotency_record> key,
                             callback<created_run> done) {
  std::optional<checked_webhook> hook;
  if (spec.webhook) {
    auto checked = check_webhook(*spec.webhook, opts.allow_private_destinations);
    if (!checked)
      return done(checked.error());
    hook = std::move(*checked);
  }
  auto tmpl = from_read(store->find_template(spec.source_template), "template_not_found", "");
  if (!tmpl) {
    if (tmpl.error().kind == error_kind::not_found)
      return done(not_found("template_not_found",
                            "no template has the id '" + spec.source_template.value + "'"));
    return done(tmpl.error());
  }
  auto run = make_run(spec, *tmpl, now(), ctx->ids);
  if (!run)
    return done(run.error());
  created_run out{std::move(*run), hook && hook->secret_generated};
  if (hook)
    out.run.webhook = std::move(hook->config);
  if (key) {
    key->created = encode(out.run);
    key->secret_generated = out.secret_generated;
  }
  auto scheduler = ctx->expiry_scheduler;
  store->write(
      [r = out.run,
       key = std::move(key)](persistence::write_batch& b) -> boost::system::error_code {
        RUNDUN_TRY(b.put_run(r));
        return key ? b.put_idempotency_key(*key) : boost::system::error_code{};
      },
      [out, done, scheduler](boost::system::error_code ec) {
        if (ec)
          return done(storage_failure(ec));
        // No actor yet: the run's first command brings one.
        caf::anon_send(scheduler, watch_atom::value, to_unix_ms(out.run.expires_at));
        done(out);
      });
}

void engine::act(std::string_view token, run_action action, std::string step_id,
                 std::string answer_json, callback<run_record> done) {
  auto id = impl_->store->find_run_by_token(token);
  if (!id)
    return done(storage_failure(id.error()));
  if (!*id)
    return done(not_found("link_not_found", "no run has this link"));
  impl_->command({**id, action, std::move(step_id), std::move(answer_json), {}, {}},
                 std::move(done));
}

void engine::cancel(const run_id& id, callback<run_record> done) {
  impl_->command({id, run_action::cancel, {}, {}, {}, {}}, std::move(done));
}

void engine::redeliver(const event_id& id, callback<std::monostate> done) {
  auto& p = *impl_;
  auto ev = from_read(p.store->find_event(id), "event_not_found", "no event has this id");
  if (!ev)
    return done(ev.error());
  if (ev->endpoint.empty())
    return done(conflict("not_subscribed",
                         "the event's run has no webhook, or its webhook is not subscribed to " +
                             std::string(to_string(ev->type))));
  auto url = p.store->endpoint_url(ev->endpoint);
  std::string target;
  if (url && *url) {
    target = **url;
  } else if (auto run = p.store->find_run(ev->run); run && *run && (*run)->webhook) {
    auto parsed = net::parse_url((*run)->webhook->url);
    target = parsed ? parsed->normalized() : (*run)->webhook->url;
  }
  ask<redeliver_reply>(
      *p.system, p.ctx->delivery_directory,
      [done](redeliver_reply& r) {
        auto code = std::string(to_code(r.refused));
        switch (r.refused) {
        case refusal_kind::none:
          return done(std::monostate{});
        case refusal_kind::event_not_found:
          return done(not_found(code, r.message));
        case refusal_kind::storage_error:
        case refusal_kind::engine_error:
          return done(domain_error{error_kind::storage, code, r.message, {}});
        default:
          return done(conflict(code, r.message));
        }
      },
      [this, done](const caf::error& e) {
        done(domain_error{error_kind::storage,
                          "engine_error",
                          "the endpoint could not take the request: " + impl_->system->render(e),
                          {}});
      },
      redeliver_atom::value, ev->endpoint, target, id.value);
}

void engine::recover(std::string_view url, time_point since, callback<recovery_started> done) {
  auto& p = *impl_;
  auto key = key_of_url("url", url);
  if (!key)
    return done(key.error());
  auto known = p.store->endpoint(*key);
  if (!known)
    return done(storage_failure(known.error()));
  if (!*known)
    return done(not_found("endpoint_not_found", "no event was ever sent to this url"));
  ask<recover_reply>(
      *p.system, p.ctx->delivery_directory,
      [done](recover_reply& r) {
        auto code = std::string(to_code(r.refused));
        if (r.refused == refusal_kind::recovery_in_progress)
          return done(conflict(code, r.message));
        if (r.refused != refusal_kind::none)
          return done(domain_error{error_kind::storage, code, r.message, {}});
        done(recovery_started{r.recovering, r.skipped_webhook_disabled});
      },
      [this, done](const caf::error& e) {
        done(domain_error{error_kind::storage,
                          "engine_error",
                          "the recovery could not start: " + impl_->system->render(e),
                          {}});
      },
      recover_atom::value, *key, (*known)->url, to_unix_ms(since));
}

} // namespace rundun
