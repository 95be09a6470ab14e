#pragma once

// The answers of the lists (contract §8): pages of runs, events and endpoints. Pure
// functions of the engine's pages; the cursor is made by the caller, and the store orders
// and pages the endpoints (persistence/endpoint_index.hpp).

#include "actors/engine.hpp"
#include "api/list_params.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

namespace rundun::api {

/// `{"runs": [<run as GET /v1/runs/{id}>], "next_cursor"}`.
boost::json::object run_page_view(const std::vector<run_record>& runs, std::string_view link_base,
                                  const std::optional<std::string>& next_cursor);

/// `{"events": [<event as GET /v1/runs/{id}/events, plus run_id and endpoint>], "next_cursor"}`.
boost::json::object event_page_view(const std::vector<listed_event>& events,
                                    const std::optional<std::string>& next_cursor);

/// One endpoint's health as `GET /v1/endpoints` lists it.
boost::json::object endpoint_view(const endpoint_health& e);

} // namespace rundun::api
