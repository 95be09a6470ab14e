#pragma once

// The operator's notices (contract §7, `--operator-webhook`): the store makes each one in
// the commit that changes an endpoint's figures (persistence/operator_notice.hpp), and this
// actor sends them to the operator's URL, signed with the operator's secret, and retries
// them on the delivery schedule until a 2xx or the last attempt. A handful at most are in
// the store at once, so it reads them afresh at each wake rather than keep a window.
//
// A notice is never sent again while its result is on its way to the store: an attempt's
// result is kept here until it is stored (written again with backoff while the store
// refuses), as the endpoint actors keep theirs.
//
// Receives:
//   (wake_atom)                                 new notices are durable
//   (tick_atom)                                 its timer: a retry is due
//   (attempt_atom, uint64_t seq, uint8_t verdict, int64_t delay_ms, std::string error)
//                                               an attempt ended, judged on its io thread
//   (stored_atom, uint64_t seq, bool ok)        a result's write is durable, or failed
//   (rewrite_atom, uint64_t seq)                write a result again after its backoff
// Sends:
//   HTTP requests through its own net::endpoint_client; results and retries to the store.

#include "actors/engine_context.hpp"
#include "net/http_client.hpp"
#include "net/signature.hpp"
#include "persistence/operator_notice.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>

#include <caf/stateful_actor.hpp>

namespace rundun {

/// Where the notices go.
struct operator_webhook {
  net::url target;
  /// The decoded `whsec_…` secret.
  std::string key;
};

struct operator_notifier_state {
  static inline const char* name = "rundun.operator_notifier";
  std::shared_ptr<net::endpoint_client> client;
  std::optional<net::webhook_signer> signer;
  /// Notices whose attempt is under way, by sequence number.
  std::unordered_map<std::uint64_t, operator_notice> in_flight;
  /// An attempt's result on its way to the store: the notice as stored, and what it becomes
  /// (none: removed), with the wait before the next write of it if this one fails.
  struct settling_result {
    operator_notice before;
    std::optional<operator_notice> after;
    std::chrono::milliseconds backoff{0};
  };
  std::unordered_map<std::uint64_t, settling_result> settling;
  std::optional<time_point> armed_for;
};

/// Spawned by the engine when it has an operator webhook.
caf::behavior operator_notifier(caf::stateful_actor<operator_notifier_state>* self,
                                std::shared_ptr<const engine_context> ctx, operator_webhook hook);

} // namespace rundun
