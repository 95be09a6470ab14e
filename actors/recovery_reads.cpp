#include "actors/recovery_reads.hpp"

#include <string>
#include <unordered_map>

namespace rundun {

namespace {

/// Looks up, once per run and page, whether a run's webhook was turned off by a 410.
class webhook_off_cache {
public:
  explicit webhook_off_cache(const persistence::store& s) : store_(s) {}

  /// A run whose flag cannot be read counts as on: its event is sent, and the attempt tells.
  bool operator()(const run_id& run) {
    auto it = off_.find(run.value);
    if (it == off_.end()) {
      auto off = store_.webhook_disabled(run);
      it = off_.emplace(run.value, off && *off).first;
    }
    return it->second;
  }

private:
  const persistence::store& store_;
  std::unordered_map<std::string, bool> off_;
};

} // namespace

persistence::result<bool> read_recovery_running(const persistence::store& s, std::string_view key) {
  // A result<bool> is made from an error explicitly: a bool converts from either.
  auto job = s.recovery(key);
  if (!job)
    return {boost::system::in_place_error, job.error()};
  auto health = s.endpoint(key);
  if (!health)
    return {boost::system::in_place_error, health.error()};
  return recovery_running(job->has_value(), *health ? (*health)->stats : endpoint_stats{});
}

persistence::result<recovery_count> count_recovery_page(const persistence::store& s,
                                                        std::string_view key, std::int64_t since_ms,
                                                        const std::optional<list_position>& from,
                                                        std::size_t page_size) {
  auto page = s.failed_events(key, since_ms, from, page_size);
  if (!page)
    return page.error();
  recovery_count out;
  webhook_off_cache off{s};
  for (auto& [at, e] : *page)
    ++(off(e.run) ? out.skipped_webhook_disabled : out.recovering);
  // A short page is the end: every failed event since the start has been counted.
  if (page->size() == page_size && !page->empty())
    out.next = page->back().first;
  return out;
}

persistence::result<std::optional<recovery_step>>
read_recovery_step(const persistence::store& s, std::string_view key, std::size_t step_size) {
  auto job = s.recovery(key);
  if (!job)
    return job.error();
  if (!*job)
    return std::optional<recovery_step>{};
  auto failed = s.failed_events(key, (*job)->since_ms, (*job)->marked_up_to, step_size);
  if (!failed)
    return failed.error();
  webhook_off_cache off{s};
  return std::optional<recovery_step>{
      plan_recovery_step(**job, *failed, step_size, [&](const run_id& run) { return off(run); })};
}

} // namespace rundun
