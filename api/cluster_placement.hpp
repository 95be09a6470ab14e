#pragma once

// Where a request runs in a cluster (contract §9), from its method and target alone: the
// id or link token in the path names the run's owner. Pure logic, no socket.

#include "persistence/ids.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace rundun::api {

struct placement {
  enum class kind {
    local,        ///< any node answers: health, metrics, assets, new templates, unknown routes
    run_owner,    ///< the node that owns the run named by `key` (a run, event or photo id, or
                  ///< a link token)
    template_id,  ///< GET of a template: this node's copy, else its owner's
    create_run,   ///< POST /v1/runs: here, once the template is here too
    cluster_info, ///< GET /v1/cluster
    list,         ///< GET /v1/runs, /v1/events, /v1/endpoints: every node's items, merged
    recover,      ///< POST /v1/endpoints/recover: every node recovers its own events
  };
  kind what = kind::local;
  std::string key;
  /// The owner marked in `key`; none for an id made by a single node (which any node may
  /// hold) or for a kind without a key.
  std::optional<owner_mark> mark;
};

/// Places a request by its method and target (query string ignored).
placement place(std::string_view method, std::string_view target);

} // namespace rundun::api
