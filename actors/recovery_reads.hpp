#pragma once

// The store's side of an endpoint's recovery (`POST /v1/endpoints/recover`): whether one
// still runs, a start's count of failed events, and the next step's events. Each is one
// bounded read (a page), run on the engine's read thread so that a large recovery never
// holds an actor thread; actors/recovery_actor posts them there and takes the results back
// as messages. No actor here: these are tested against a real store alone.

#include "actors/recovery_plan.hpp"
#include "persistence/store.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace rundun {

/// Failed events one page of a start's count reads at most.
inline constexpr std::size_t recovery_count_page = 1024;

/// One page of a start's count: the events a recovery will send again, those it leaves out
/// because their run's webhook is off (a 410), and where the next page starts.
struct recovery_count {
  std::uint64_t recovering = 0;
  std::uint64_t skipped_webhook_disabled = 0;
  /// The last event counted, when the page was full; none once every failed event since
  /// the start was counted.
  std::optional<list_position> next;
};

/// Whether a recovery of the endpoint `key` still runs (see `recovery_running`).
persistence::result<bool> read_recovery_running(const persistence::store& s, std::string_view key);

/// Counts up to `page_size` failed events of `key` created at or after `since_ms`, oldest
/// first, strictly past `from`.
persistence::result<recovery_count>
count_recovery_page(const persistence::store& s, std::string_view key, std::int64_t since_ms,
                    const std::optional<list_position>& from,
                    std::size_t page_size = recovery_count_page);

/// Plans the next step of the job stored for `key`: up to `step_size` failed events past
/// where it stands. None when no job is stored (the recovery is done).
persistence::result<std::optional<recovery_step>>
read_recovery_step(const persistence::store& s, std::string_view key,
                   std::size_t step_size = recovery_step_size);

} // namespace rundun
