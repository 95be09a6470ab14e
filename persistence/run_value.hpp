#pragma once

// The value a run's state is stored as in the `runs` table: the state's JSON (what commands
// change), then, after a NUL byte, the sequence numbers of the run's events in the order they
// were made, as zigzag varints of the difference to the previous one. A new event appends a
// few bytes to the value that its command rewrites anyway, on a page already dirty in that
// transaction, instead of inserting into an index at a random place of its own. Pure logic.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rundun::persistence {

/// The state's JSON text: the value up to the NUL byte (all of it when there is none).
std::string_view run_state_json(std::string_view value);

/// The sequence numbers of the run's events, in the order they were appended; empty for a
/// malformed tail.
std::vector<std::uint64_t> run_event_seqs(std::string_view value);

/// `value` with its JSON replaced by `json`, its events kept.
std::string with_run_state(std::string_view value, std::string_view json);

/// `value` with the events `seqs` appended, in that order.
std::string with_run_events(std::string_view value, std::span<const std::uint64_t> seqs);

/// `value` with the event `seq` appended.
std::string with_run_event(std::string_view value, std::uint64_t seq);

} // namespace rundun::persistence
