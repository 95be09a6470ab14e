#pragma once

// The vocabulary between the engine's actors. Every type here is serialisable (an inspect()
// overload, registered in message_types.cpp), so any actor can later live on another node.

#include "actors/command_reply.hpp"
#include "actors/command_reply_to.hpp"
#include "actors/commit_gate.hpp"
#include "actors/run_logic.hpp"
#include "persistence/delivery_log.hpp"
#include "persistence/domain_error.hpp"
#include "persistence/record_codec.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <caf/atom.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/sec.hpp>

namespace rundun {

// -- atoms ----------------------------------------------------------------------

using command_atom = caf::atom_constant<caf::atom("command")>;
using expire_atom = caf::atom_constant<caf::atom("expire")>;
using ended_atom = caf::atom_constant<caf::atom("ended")>;
/// A run's change is durable (or failed): the store's writer to the run actor.
using committed_atom = caf::atom_constant<caf::atom("committed")>;
/// An event's delivery-state change is durable (or failed): the writer to the endpoint actor.
using stored_atom = caf::atom_constant<caf::atom("stored")>;
/// An endpoint actor's own: write an attempt's result again, after its write failed.
using rewrite_atom = caf::atom_constant<caf::atom("rewrite")>;
using deliver_atom = caf::atom_constant<caf::atom("deliver")>;
/// (unstored_atom, event id): the write of an event whose first request waited for it failed;
/// its endpoint drops the request, unsent.
using unstored_atom = caf::atom_constant<caf::atom("unstored")>;
using attempt_atom = caf::atom_constant<caf::atom("attempt")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using refill_atom = caf::atom_constant<caf::atom("refill")>;
using redeliver_atom = caf::atom_constant<caf::atom("redeliver")>;
using wake_atom = caf::atom_constant<caf::atom("wake")>;
/// (disabled_atom): an endpoint's disabling is decided in the store (it may not have been).
using disabled_atom = caf::atom_constant<caf::atom("disabled")>;
using drain_atom = caf::atom_constant<caf::atom("drain")>;
using watch_atom = caf::atom_constant<caf::atom("watch")>;
using idle_atom = caf::atom_constant<caf::atom("idle")>;
using leave_atom = caf::atom_constant<caf::atom("leave")>;
using pruned_atom = caf::atom_constant<caf::atom("pruned")>;
using recover_atom = caf::atom_constant<caf::atom("recover")>;
/// A 410 turned a run's webhook off: sent by its endpoint's actor to the run directory,
/// which tells the run's actor if it is resident.
using webhook_off_atom = caf::atom_constant<caf::atom("hookoff")>;

// -- run commands ---------------------------------------------------------------

/// A photo on its way to the store with the command that attaches it: shared and immutable,
/// so that its bytes (up to 10 MiB) are not copied between the media thread and the write.
struct photo_upload {
  photo_record record;
  std::string bytes;
  std::string thumbnail_jpeg;
};

/// A command for one run, sent by the engine to the run directory, which forwards it to
/// the run's actor. The actor that settles it answers `reply_to`.
struct run_command {
  run_id run;
  run_action action = run_action::submit;
  std::string step_id;
  /// For `answer`: `{"value":…,"note":…}`.
  std::string answer_json;
  /// For `add_photo`: the photo, its original bytes and thumbnail.
  std::shared_ptr<const photo_upload> photo;
  command_reply_to reply_to;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, run_command& x) {
  // The photo crosses a node as the store's encoding of its record, with its bytes.
  bool has_photo = false;
  std::string record, bytes, thumbnail;
  if constexpr (Inspector::reads_state)
    if (x.photo) {
      has_photo = true;
      record = encode(x.photo->record);
      bytes = x.photo->bytes;
      thumbnail = x.photo->thumbnail_jpeg;
    }
  auto load = [&]() -> caf::error {
    if (!has_photo)
      return caf::none;
    auto rec = decode_photo(record);
    if (!rec)
      return caf::sec::invalid_argument;
    x.photo = std::make_shared<const photo_upload>(
        photo_upload{std::move(*rec), std::move(bytes), std::move(thumbnail)});
    return caf::none;
  };
  return f(caf::meta::type_name("run_command"), x.run, x.action, x.step_id, x.answer_json,
           has_photo, record, bytes, thumbnail, x.reply_to, caf::meta::load_callback(load));
}

// -- deliveries -----------------------------------------------------------------

/// One event handed to its endpoint: sent by a run actor (after the event is durable) to the
/// delivery directory, which forwards it to the endpoint's actor. The endpoint trusts it:
/// the event is stored, pending, and its run's webhook was on when the run actor made it.
struct delivery_order {
  std::string endpoint; ///< endpoint key
  std::string url;      ///< the webhook URL as given
  event_id event;
  run_id run;
  std::uint64_t seq = 0;
  event_type type = event_type::step_completed;
  std::int64_t created_at_ms = 0;
  /// The event's `data` JSON, built once when the event was made; shared, never copied.
  std::shared_ptr<const std::string> data;
  std::string secret;
  /// The store's commit that made the event durable (store::committed()): an endpoint that
  /// paged in from a later snapshot has seen the event already. With a `gate`, the gate's.
  std::uint64_t commit = 0;
  /// The write that makes the event durable, when the order is sent before its commit
  /// (actors/commit_gate.hpp). Local to this process: not serialised, so an order that
  /// crossed nodes has none, and is sent after its commit.
  std::shared_ptr<commit_gate> gate;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, delivery_order& x) {
  std::string data;
  if constexpr (Inspector::reads_state)
    if (x.data)
      data = *x.data;
  auto load = [&]() -> caf::error {
    x.data = std::make_shared<const std::string>(std::move(data));
    return caf::none;
  };
  return f(caf::meta::type_name("delivery_order"), x.endpoint, x.url, x.event, x.run, x.seq, x.type,
           x.created_at_ms, data, x.secret, x.commit, caf::meta::load_callback(load));
}

/// One HTTP attempt, judged on the io thread that ran it, for its endpoint actor. That
/// thread queues the result's write itself, right after sending this report, so
/// (stored_atom, event, ok) follows once the result is durable or its write failed; until
/// then the actor keeps `result`, to write it again if that write failed.
struct attempt_report {
  event_id event;
  int attempt = 0;
  int status = 0;                ///< 0: no response
  std::uint8_t failure = 0;      ///< net::failure_kind, when there is no response
  std::uint8_t verdict = 0;      ///< net::verdict
  std::int64_t retry_at_ms = -1; ///< when the next attempt is due; -1: none (not `retry`)
  int round_failures = 0;        ///< the round's failures, counting this attempt
  std::string reason;            ///< the attempt's error, for the log; empty when delivered
  /// The result as queued for the store: shared with that write, never copied.
  std::shared_ptr<const persistence::delivery_change> result;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, attempt_report& x) {
  // The result travels in its stored encodings: the event's record and the step.
  std::string before, step;
  if constexpr (Inspector::reads_state)
    if (x.result) {
      before = encode(x.result->before);
      step = persistence::encode(x.result->step);
    }
  auto load = [&]() -> caf::error {
    auto b = decode_event(before);
    auto s = persistence::decode_step(step);
    if (!b || !s)
      return caf::make_error(caf::sec::invalid_argument,
                             "attempt_report: a result that does not decode");
    x.result = std::make_shared<const persistence::delivery_change>(
        persistence::delivery_change{std::move(*b), std::move(*s)});
    return caf::none;
  };
  return f(caf::meta::type_name("attempt_report"), x.event, x.attempt, x.status, x.failure,
           x.verdict, x.retry_at_ms, x.round_failures, x.reason, before, step,
           caf::meta::load_callback(load));
}

/// Why a redelivery or a recovery was not taken; `none` when it was.
enum class refusal_kind : std::uint8_t {
  none,
  event_not_found,      ///< 404
  webhook_disabled,     ///< 409: a 410 turned the run's webhook off
  delivery_in_progress, ///< 409: the event is pending or in flight
  recovery_in_progress, ///< 409: a recovery of the endpoint still runs
  storage_error,        ///< 500: the store failed
  engine_error,         ///< 500: the actor failed
  endpoint_disabled,    ///< 409: the endpoint was disabled after failing too long
};

/// The API's error code of `k` (§3), e.g. `webhook_disabled`; empty for `none`.
std::string_view to_code(refusal_kind k);

/// A redeliver request's answer.
struct redeliver_reply {
  refusal_kind refused = refusal_kind::none;
  std::string message;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, redeliver_reply& x) {
  return f(caf::meta::type_name("redeliver_reply"), x.refused, x.message);
}

/// A recovery's answer (`POST /v1/endpoints/recover`).
struct recover_reply {
  refusal_kind refused = refusal_kind::none;
  std::string message;
  /// Failed events it will send, and those it leaves out because their run's webhook is off.
  std::uint64_t recovering = 0;
  std::uint64_t skipped_webhook_disabled = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, recover_reply& x) {
  return f(caf::meta::type_name("recover_reply"), x.refused, x.message, x.recovering,
           x.skipped_webhook_disabled);
}

/// One page of a recovery's start, read on the engine's read thread and sent to the
/// recovery actor (actors/recovery_reads.hpp has the reads).
struct recovery_counted {
  /// The start it belongs to.
  std::uint64_t start = 0;
  /// Why the store could not be read; empty when it was.
  std::string failure;
  /// A recovery of the endpoint still runs: the start is refused (first page only).
  bool running = false;
  std::uint64_t recovering = 0;
  std::uint64_t skipped_webhook_disabled = 0;
  /// The page was full: the count goes on after the event (`next_ms`, `next_id`).
  bool more = false;
  std::int64_t next_ms = 0;
  std::string next_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, recovery_counted& x) {
  return f(caf::meta::type_name("recovery_counted"), x.start, x.failure, x.running, x.recovering,
           x.skipped_webhook_disabled, x.more, x.next_ms, x.next_id);
}

/// How one step of a recovery ended, sent to the recovery actor by the engine's read thread
/// (no job left, or the store could not be read) or by the store's writer (its commit).
struct recovery_stepped {
  enum class outcome : std::uint8_t {
    committed,    ///< its events are marked, pending, on disk
    no_job,       ///< no job is stored: the recovery is done
    read_failed,  ///< the store could not be read; nothing was written
    write_failed, ///< the step's commit failed; nothing was written
  };
  outcome what = outcome::committed;
  /// Why it failed; empty otherwise.
  std::string failure;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, recovery_stepped& x) {
  return f(caf::meta::type_name("recovery_stepped"), x.what, x.failure);
}

} // namespace rundun
