#pragma once

#include "persistence/model.hpp"

#include <string>

namespace rundun::api {

/// The HTML of `GET /r/{token}`: the run's template name, its steps and their state. It is
/// read-only for now: the executor acts through the JSON routes under the same link.
std::string executor_page(const run_record& run);

/// The page for a link that names no run.
std::string link_not_found_page();

/// Escapes text for HTML element content and attribute values.
std::string html_escape(std::string_view text);

} // namespace rundun::api
