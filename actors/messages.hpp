#pragma once

// The vocabulary between the engine's actors. Every type here is serialisable (an inspect()
// overload, registered in message_types.cpp), so any actor can later live on another node.

#include "actors/run_logic.hpp"
#include "persistence/domain_error.hpp"
#include "persistence/record_codec.hpp"

#include <cstdint>
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
using committed_atom = caf::atom_constant<caf::atom("committed")>;
/// An endpoint actor's own: write an attempt's result again, after its write failed.
using rewrite_atom = caf::atom_constant<caf::atom("rewrite")>;
using deliver_atom = caf::atom_constant<caf::atom("deliver")>;
using attempt_atom = caf::atom_constant<caf::atom("attempt")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using refill_atom = caf::atom_constant<caf::atom("refill")>;
using redeliver_atom = caf::atom_constant<caf::atom("redeliver")>;
using wake_atom = caf::atom_constant<caf::atom("wake")>;
using drain_atom = caf::atom_constant<caf::atom("drain")>;
using watch_atom = caf::atom_constant<caf::atom("watch")>;
using idle_atom = caf::atom_constant<caf::atom("idle")>;
using leave_atom = caf::atom_constant<caf::atom("leave")>;
using pruned_atom = caf::atom_constant<caf::atom("pruned")>;
using recover_atom = caf::atom_constant<caf::atom("recover")>;

// -- run commands ---------------------------------------------------------------

/// A command for one run, sent by the engine to the run directory, which forwards it to
/// the run's actor.
struct run_command {
  std::string run;
  run_action action = run_action::submit;
  std::string step_id;
  /// For `answer`: `{"value":…,"note":…}`.
  std::string answer_json;
  /// For `add_photo`: the photo's record (storage JSON), original bytes and thumbnail.
  std::string photo_json;
  std::string photo_bytes;
  std::string thumbnail_jpeg;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, run_command& x) {
  return f(caf::meta::type_name("run_command"), x.run, x.action, x.step_id, x.answer_json,
           x.photo_json, x.photo_bytes, x.thumbnail_jpeg);
}

/// A command's answer: the run after the command (storage JSON), or the refusal.
struct command_reply {
  bool ok = false;
  /// The run after the change. Between actors of one node it travels as it is; only a
  /// message that leaves the node encodes it (see inspect below).
  run_record run;
  error_kind kind = error_kind::invalid_input;
  std::string code;
  std::string message;
  std::vector<std::string> steps;

  static command_reply success(run_record run) { return {true, std::move(run), {}, {}, {}, {}}; }
  static command_reply refusal(const domain_error& e) {
    return {false, {}, e.kind, e.code, e.message, e.steps};
  }
  domain_error error() const { return {kind, code, message, steps}; }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, command_reply& x) {
  // The run crosses a node as the store's encoding of it.
  std::string run_text;
  if constexpr (Inspector::reads_state)
    if (x.ok)
      run_text = encode(x.run);
  auto load = [&]() -> caf::error {
    if (!x.ok)
      return caf::none;
    auto run = decode_run(run_text);
    if (!run)
      return caf::sec::invalid_argument;
    x.run = std::move(*run);
    return caf::none;
  };
  return f(caf::meta::type_name("command_reply"), x.ok, run_text, x.kind, x.code, x.message,
           x.steps, caf::meta::load_callback(load));
}

// -- deliveries -----------------------------------------------------------------

/// One event handed to its endpoint: sent by a run actor (after the event is durable) to the
/// delivery directory, which forwards it to the endpoint's actor.
struct delivery_order {
  std::string endpoint; ///< endpoint key
  std::string url;      ///< the webhook URL as given
  std::string event;    ///< event id
  std::string run;      ///< run id
  std::uint64_t seq = 0;
  std::uint8_t type = 0; ///< event_type
  std::int64_t created_at_ms = 0;
  std::string data_json;
  std::string secret;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, delivery_order& x) {
  return f(caf::meta::type_name("delivery_order"), x.endpoint, x.url, x.event, x.run, x.seq, x.type,
           x.created_at_ms, x.data_json, x.secret);
}

/// The outcome of one HTTP attempt, sent by the io thread's completion to the endpoint actor.
struct attempt_report {
  std::string event;
  int attempt = 0;
  std::int64_t at_ms = 0;
  int status = 0; ///< 0: no response
  std::string retry_after;
  bool has_retry_after = false;
  std::string error;
  std::uint8_t failure = 0; ///< net::failure_kind, when there is no response
  std::int64_t duration_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, attempt_report& x) {
  return f(caf::meta::type_name("attempt_report"), x.event, x.attempt, x.at_ms, x.status,
           x.retry_after, x.has_retry_after, x.error, x.failure, x.duration_ms);
}

/// A redeliver request's answer: empty `code` means accepted.
struct redeliver_reply {
  std::string code;
  std::string message;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, redeliver_reply& x) {
  return f(caf::meta::type_name("redeliver_reply"), x.code, x.message);
}

/// A recovery's answer (`POST /v1/endpoints/recover`): empty `code` means started.
struct recover_reply {
  /// The `code` of a start refused because a recovery of the endpoint still runs; the
  /// engine answers it as `409`.
  static constexpr std::string_view in_progress = "recovery_in_progress";

  std::string code;
  std::string message;
  /// Failed events it will send, and those it leaves out because their run's webhook is off.
  std::uint64_t recovering = 0;
  std::uint64_t skipped_webhook_disabled = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, recover_reply& x) {
  return f(caf::meta::type_name("recover_reply"), x.code, x.message, x.recovering,
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
