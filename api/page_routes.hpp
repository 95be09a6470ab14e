#pragma once

// The HTML pages the router serves, with the headers every page carries (page_routes.cpp):
// the executor's page, which the link routes answer with (link_routes.cpp). The console's
// page and the pages' scripts and styles are router::route_console and router::route_asset.
// Internal to api/.

#include "net/http_server.hpp"

namespace rundun::api {

/// Whether a link's token names a run.
enum class link_found { no, yes };

/// The executor's page of a link: its shell (`200`) for a run's token, or the page that says
/// the link leads nowhere (`404`). Pure; any thread.
net::http_response executor_page(link_found found);

} // namespace rundun::api
