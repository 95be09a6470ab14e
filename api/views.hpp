#pragma once

#include "persistence/model.hpp"

#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

namespace rundun::api {

/// The JSON shapes the API answers with (contract §4–§6). Pure functions of the records.

boost::json::object template_view(const template_record& t);

/// A run as the API shows it. `link_base` is the public URL; `secret_once` is included only
/// in the answer to the request that generated it.
boost::json::object run_view(const run_record& r, std::string_view link_base, bool secret_once);

/// A run as its executor sees it: no webhook, no metadata.
boost::json::object executor_view(const run_record& r);

/// One event with its delivery state and attempts.
boost::json::object event_view(const event_record& e);

/// `{"events": [...]}` with each event's delivery state and attempts.
boost::json::object events_view(const std::vector<event_record>& events);

/// `{"error": {"code", "message", …}}`.
boost::json::object error_body(std::string_view code, std::string_view message,
                               const std::vector<std::string>& steps = {});

} // namespace rundun::api
