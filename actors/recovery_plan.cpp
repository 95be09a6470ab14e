#include "actors/recovery_plan.hpp"

#include <algorithm>

namespace rundun {

recovery_step plan_recovery_step(const recovery_job& job,
                                 const std::vector<std::pair<list_position, event_record>>& failed,
                                 std::size_t step_size,
                                 const std::function<bool(const run_id&)>& webhook_off) {
  recovery_step step;
  for (auto& [at, e] : failed)
    if (!webhook_off(e.run))
      step.send.push_back(e.id);
  // A short read is the end: every failed event since the start has been seen.
  if (failed.size() < step_size)
    return step;
  recovery_job next = job;
  next.marked_up_to = failed.back().first;
  next.remaining -= std::min<std::uint64_t>(next.remaining, step.send.size());
  step.job_after = next;
  return step;
}

bool recovery_running(bool job_stored, const endpoint_stats& figures) {
  return job_stored || (figures.recovering > 0 && figures.pending > 0);
}

} // namespace rundun
