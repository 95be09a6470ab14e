#pragma once

#include <string_view>

namespace rundun::api {

// The executor's page (`GET /r/{token}`): static files in api/page/, built into the
// binary by cmake/embed_assets.cmake. The page holds no run data and no token; its script
// reads the token from its own address and uses the link's JSON routes.

/// The page shell of a known link.
std::string_view executor_html();
/// The page of a link that names no run (served with 404).
std::string_view not_found_html();
/// `/assets/executor.js` and `/assets/executor.css`.
std::string_view executor_js();
std::string_view executor_css();

// The operator's console (`GET /console`), from the same folder: a page with no data in it,
// whose script asks for the API key and calls the `/v1` routes with it.

std::string_view console_html();
/// `/assets/console.js` and `/assets/console.css`.
std::string_view console_js();
std::string_view console_css();

} // namespace rundun::api
