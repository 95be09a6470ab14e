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

} // namespace rundun::api
