#pragma once

// What one step of an endpoint's recovery does (`POST /v1/endpoints/recover`), without
// actors or the store: which failed events it sends again and where the job stands after,
// and whether a recovery still runs. Pure logic, wrapped by actors/recovery_reads (the
// store's side) and actors/recovery_actor.

#include "persistence/endpoint_stats.hpp"
#include "persistence/listing.hpp"

#include <functional>
#include <optional>
#include <utility>
#include <vector>

namespace rundun {

/// Failed events one recovery step reads, and so marks, at most: one small commit each, so
/// a large recovery never holds the store's writer for long.
inline constexpr std::size_t recovery_step_size = 256;

/// One step: the events to send again, oldest first, and the job after them (none once
/// every failed event since the job's start was seen).
struct recovery_step {
  std::vector<event_id> send;
  std::optional<recovery_job> job_after;
};

/// Plans a step over `failed`, the next failed events after `job.marked_up_to`, oldest
/// first, as `store::failed_events` reads at most `step_size` of them. Events of runs for
/// which `webhook_off` holds are passed over: their webhook answered 410.
recovery_step plan_recovery_step(const recovery_job& job,
                                 const std::vector<std::pair<list_position, event_record>>& failed,
                                 std::size_t step_size,
                                 const std::function<bool(const run_id&)>& webhook_off);

/// True while a recovery of an endpoint still runs, so that another is refused (`409
/// recovery_in_progress`, contract §8): its job is stored (it is still marking events), or
/// events it marked still wait for the attempt that sends them again. A mark counts only
/// while the endpoint has events waiting at all, so a mark left behind by an older version
/// (one that failed a marked event without an attempt) cannot hold the endpoint forever.
bool recovery_running(bool job_stored, const endpoint_stats& figures);

} // namespace rundun
