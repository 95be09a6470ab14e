#pragma once

// The events that wait for their first attempt, per endpoint, in sequence order. An event's
// usual life is one attempt that succeeds, so the store writes no index entry for that wait:
// it keeps these sets in memory and only their low-water mark on disk (the `meta` key
// `first_attempt_mark`), once per commit. At open it finds them again by reading the events
// from the mark on (store_open.cpp). The `pending` table holds only events that wait for a
// later attempt: a retry, a redelivery or a recovery, each with its due time.
//
// A plain value, not thread-safe: the store keeps one under its lock, and only its writer
// changes it, after each commit. Internal to persistence/.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace rundun::persistence {

class first_attempts {
public:
  /// The event `seq` of `endpoint` waits for its first attempt.
  void add(std::string_view endpoint, std::uint64_t seq);
  /// It waits no more: attempted, failed unsent, or removed.
  void remove(std::string_view endpoint, std::uint64_t seq);
  bool contains(std::string_view endpoint, std::uint64_t seq) const;

  /// Up to `limit` of the endpoint's waiting events from sequence number `from` on, lowest
  /// first.
  std::vector<std::uint64_t> first(std::string_view endpoint, std::uint64_t from,
                                   std::size_t limit) const;
  /// The number of the endpoint's waiting events.
  std::size_t count(std::string_view endpoint) const;
  /// The endpoints with at least one waiting event.
  std::vector<std::string> endpoints() const;

  /// The endpoint's low-water mark: its lowest waiting sequence number, if any.
  std::optional<std::uint64_t> mark(std::string_view endpoint) const;
  /// The lowest of every endpoint's mark: every event below it has had its first attempt.
  std::optional<std::uint64_t> low_water_mark() const;

private:
  /// One endpoint's waiting events, as a bit per sequence number in blocks of 64: a dead
  /// endpoint's backlog, numbered nearly in a row, costs a few bytes per event.
  struct waiting_set {
    std::map<std::uint64_t, std::uint64_t> blocks;
    std::size_t count = 0;
    std::uint64_t lowest() const;
  };
  std::unordered_map<std::string, waiting_set> waiting_;
  /// Each endpoint's mark, with the endpoint: the first is the low-water mark.
  std::set<std::pair<std::uint64_t, std::string>> marks_;
};

} // namespace rundun::persistence
