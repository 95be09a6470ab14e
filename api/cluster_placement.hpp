#pragma once

// Where a request runs in a cluster (contract §9), from its method and target alone: the
// id or link token in the path names the run's owner. Pure logic, no socket.

#include "persistence/ids.hpp"

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace rundun::api {

struct placement {
  enum class kind {
    local,           ///< any node answers: health, metrics, assets, new templates, unknown routes
    run_owner,       ///< the node that owns the run named by `key` (a run, event or photo id, or
                     ///< a link token)
    template_id,     ///< GET of a template: this node's copy, else its owner's
    create_run,      ///< POST /v1/runs: here, once the template is here too (or, with an
                     ///< Idempotency-Key, on the key's owner: see key_owner)
    create_template, ///< POST /v1/templates: here (or on its Idempotency-Key's owner)
    cluster_info,    ///< GET /v1/cluster
    list,            ///< GET /v1/runs, /v1/events, /v1/endpoints: every node's items, merged
    recover,         ///< POST /v1/endpoints/recover: every node recovers its own events
  };
  kind what = kind::local;
  std::string key;
  /// The owner marked in `key`; none for an id made by a single node (which any node may
  /// hold) or for a kind without a key.
  std::optional<owner_mark> mark;
};

/// Places a request by its method and target (query string ignored).
placement place(std::string_view method, std::string_view target);

/// The member that decides an `Idempotency-Key` (contract §4): of `member_ids`, the one
/// whose hash with the key is the highest (rendezvous hashing). Every node picks the same
/// one from the same members, in whatever order it lists them, and a member that joins or
/// leaves moves only the keys it wins or won. Returns an index into `member_ids`, which must
/// not be empty.
std::size_t key_owner(std::span<const std::string_view> member_ids, std::string_view key);

} // namespace rundun::api
