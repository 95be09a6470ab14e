#pragma once

// The lists of contract §8 as the store answers them: filters, pages and where a page ended.
// Plain types, no LMDB.

#include "persistence/endpoint_stats.hpp"
#include "persistence/model.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rundun {

/// Lists are newest first, ordered by (creation time in milliseconds, id), both descending.
/// A position is the last item a page held: the next page starts strictly after it. Items
/// made later sort before every position taken earlier, so they never shift a later page;
/// and ids are unique across a cluster's nodes, so one position orders every node's items.
struct list_position {
  std::int64_t ms = 0;
  std::string id;

  friend bool operator==(const list_position&, const list_position&) = default;
};

/// True when `a` comes before `b` in a list (newer, or as new with a larger id).
inline bool lists_before(const list_position& a, const list_position& b) {
  return a.ms != b.ms ? a.ms > b.ms : a.id > b.id;
}

/// Index entries one list request looks at, at most. A filter that matches rarely ends its
/// page early, with a position to go on from, rather than walk the whole store.
inline constexpr std::size_t list_scan_budget = 20'000;

/// What one list request asks for.
struct list_request {
  /// Where the previous page ended; none for the first page.
  std::optional<list_position> after;
  std::size_t limit = 50;
  std::size_t budget = list_scan_budget;
};

struct run_filter {
  std::optional<run_status> status;
  std::optional<template_id> template_id_;
  /// Created strictly after / strictly before, to the millisecond.
  std::optional<time_point> created_after, created_before;
};

struct event_filter {
  std::optional<delivery_status> status;
  std::optional<event_type> type;
  std::optional<run_id> run;
  /// The endpoint key (see net::endpoint_key) of the webhook URL.
  std::optional<std::string> endpoint;
  std::optional<time_point> created_after, created_before;
};

/// One page of a list: its items, newest first, and where the next page starts (none at the
/// end). A page may hold fewer than the limit and still have a next one, when the scan
/// budget ran out.
template <class T>
struct list_page {
  std::vector<T> items;
  std::optional<list_position> next;
};

/// Where an endpoint stands in `GET /v1/endpoints`, which lists by rank, then by URL.
/// Rank 0 is kept for disabled endpoints, listed before the failing ones (a later issue).
enum class endpoint_rank : std::uint8_t { disabled = 0, failing = 1, healthy = 2 };

/// The rank of an endpoint with the figures `s`: disabled, else failing while in a run of
/// failures.
inline endpoint_rank rank_of(const endpoint_stats& s) {
  if (s.disabled_at)
    return endpoint_rank::disabled;
  return s.failing_since ? endpoint_rank::failing : endpoint_rank::healthy;
}

/// An endpoint's position in its list: its rank in `ms`, its URL in `id`. A page of
/// endpoints starts strictly past it, in (rank, URL) order.
inline list_position endpoint_position(endpoint_rank rank, std::string url) {
  return {static_cast<std::int64_t>(rank), std::move(url)};
}

/// One endpoint as `GET /v1/endpoints` shows it.
struct endpoint_health {
  /// The endpoint key and its normalised URL.
  std::string key, url;
  endpoint_stats stats;
  /// The earliest due time of its pending deliveries.
  std::optional<time_point> next_attempt_at;
  /// Events a recovery has still to mark for sending, beside those marked and waiting.
  std::uint64_t recovery_remaining = 0;
  /// Attempts in flight now: live state, filled in by the engine, not stored.
  std::int64_t in_flight = 0;
};

/// A recovery of one endpoint's failed events (`POST /v1/endpoints/recover`), kept in the
/// store until it has marked every event: it survives a restart.
struct recovery_job {
  /// Events created at or after this instant are sent again.
  std::int64_t since_ms = 0;
  /// The last event marked so far, in creation order; none before the first.
  std::optional<list_position> marked_up_to;
  /// Events still to mark, as counted when the recovery started (an estimate afterwards).
  std::uint64_t remaining = 0;
};

} // namespace rundun
