#pragma once

// A cluster's lists (contract §8 and §9): every node answers the same list request, and the
// node that received it merges their pages into one. Pure logic over the nodes' JSON
// answers, no socket.
//
// Runs and events: every node pages from the same position (a cursor holds a position, not
// a node), so the merged page is the newest `limit` items of all; where a node's page ended
// early (its scan budget), nothing past that node's stop is kept, and the next page starts
// there. Endpoints: one endpoint (one URL) may have events on every node; its figures are
// summed. Recoveries: the counts are summed, unless a node refuses.

#include "api/list_cursor.hpp"
#include "api/list_params.hpp"

#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

namespace rundun::api {

/// One node's answer to the list request; none when it could not be asked (it is named
/// in `unavailable_nodes`).
struct node_answer {
  std::string node;
  std::optional<boost::json::object> body;
  /// The HTTP status it answered with (0 when it could not be asked).
  unsigned status = 0;
};

/// Merges the nodes' pages of runs (`items` = "runs") or events ("events") into one page
/// of `page.request.limit`, with its cursor.
boost::json::object merge_item_pages(list_kind kind, const std::string& items,
                                     const std::vector<node_answer>& answers,
                                     const page_params& page, const cursor_codec& cursors);

/// Merges the nodes' endpoints (each node's first page, of up to 500) by URL, then filters,
/// orders and pages them as one node does: failing first, then by URL, with a position
/// `endpoint_position` (persistence/listing.hpp) taken from the merged figures.
boost::json::object merge_endpoints(const std::vector<node_answer>& answers,
                                    const endpoint_list_params& params,
                                    const cursor_codec& cursors);

/// Sums the nodes' recoveries. `found` is false when every node that answered knew no such
/// URL (the answer is then the 404).
boost::json::object merge_recoveries(const std::vector<node_answer>& answers, bool& found);

/// The node answer that refuses a recovery for the whole cluster, if any (none: the answers
/// merge, see `merge_recoveries`). A node's `409 recovery_in_progress` comes first, whatever
/// the others said: a recovery of that URL still runs there, and one job per URL holds
/// across the cluster. Else the first other refusal: a `400` of the body (every node gives
/// it alike) or a node's `5xx`. `202` and `404` are not refusals.
const node_answer* recovery_refusal(const std::vector<node_answer>& answers);

} // namespace rundun::api
