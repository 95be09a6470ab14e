#pragma once

// The query strings of the lists (contract §8): filters, `limit` and `cursor`, checked, with
// a `400` that names the parameter for anything else. Pure logic, no engine.

#include "api/list_cursor.hpp"
#include "persistence/domain_error.hpp"
#include "persistence/listing.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace rundun::api {

/// `limit` bounds and default.
constexpr std::size_t min_list_limit = 1;
constexpr std::size_t max_list_limit = 500;
constexpr std::size_t default_list_limit = 50;

/// What every list's query has beside its filters.
struct page_params {
  list_request request;
  /// The canonical text of the filters, which a cursor is bound to: `name=value` pairs,
  /// sorted by name, `&`-joined, `limit` and `cursor` left out, with `%`, `&` and `=`
  /// percent-encoded in each name and value.
  std::string filters;
};

struct run_list_params {
  page_params page;
  run_filter filter;
};

struct event_list_params {
  page_params page;
  event_filter filter;
  /// The `endpoint` filter as given; the caller turns it into an endpoint key.
  std::optional<std::string> endpoint_url;
};

enum class endpoint_health_filter { any, failing, healthy, disabled };

struct endpoint_list_params {
  page_params page;
  endpoint_health_filter status = endpoint_health_filter::any;
};

/// The rank a `status` filter of `GET /v1/endpoints` lists; none for every rank.
std::optional<endpoint_rank> rank_filter(endpoint_health_filter status);

/// `target` is the request target (path and query). Refusals: `400 invalid_field` naming
/// the parameter (an unknown one, one given twice, a bad value), `400 invalid_cursor`.
outcome<run_list_params> parse_run_list(std::string_view target, const cursor_codec& cursors);
outcome<event_list_params> parse_event_list(std::string_view target, const cursor_codec& cursors);
outcome<endpoint_list_params> parse_endpoint_list(std::string_view target,
                                                  const cursor_codec& cursors);

} // namespace rundun::api
