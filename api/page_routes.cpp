// The pages of the browser: the executor's page of a link, the operator's console, and
// their scripts and styles. The pages hold no data (their scripts call the JSON routes), and
// every page gets the same headers that keep it to this server: here, once, in `html_page`.

#include "api/page_routes.hpp"

#include "api/page_assets.hpp"
#include "api/router_call.hpp"
#include "api/router_responses.hpp"

namespace rundun::api {

namespace {

/// The executor's page: its address holds the link's token, and it shows the run's photos
/// (blob: and data: images).
constexpr std::string_view executor_policy =
    "default-src 'self'; img-src 'self' blob: data:; script-src 'self'; "
    "style-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";
/// The console: it loads nothing but its own script, style and images.
constexpr std::string_view console_policy =
    "default-src 'none'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// An HTML page with the headers every page carries. No referrer leaves it (a link's
/// address holds its token), nothing but this server is reachable from it (`policy`: no
/// inline script, no other origin), and no site may frame it.
net::http_response html_page(http::status status, std::string_view cache_control,
                             std::string_view policy, std::string_view body) {
  net::http_response res{status, 11};
  res.set(http::field::content_type, "text/html; charset=utf-8");
  res.set(http::field::cache_control, cache_control);
  res.set("Referrer-Policy", "no-referrer");
  res.set("Content-Security-Policy", policy);
  res.set("X-Content-Type-Options", "nosniff");
  res.body() = std::string(body);
  return res;
}

} // namespace

net::http_response executor_page(link_found found) {
  if (found == link_found::no)
    return html_page(http::status::not_found, "no-store", executor_policy, not_found_html());
  return html_page(http::status::ok, "no-store", executor_policy, executor_html());
}

void router::route_console(call& c) {
  c.pattern = "/console";
  if (!c.method_is(http::verb::get))
    return;
  // The page holds no data: its script asks for the key and calls /v1 on this origin only.
  c.send(html_page(http::status::ok, "no-cache", console_policy, console_html()));
}

void router::route_asset(call& c) {
  c.pattern = "/assets/{file}";
  struct asset {
    std::string_view name, type, body;
  };
  const asset files[] = {{"executor.js", "text/javascript; charset=utf-8", executor_js()},
                         {"executor.css", "text/css; charset=utf-8", executor_css()},
                         {"console.js", "text/javascript; charset=utf-8", console_js()},
                         {"console.css", "text/css; charset=utf-8", console_css()}};
  for (auto [name, type, body] : files) {
    if (c.seg[1] != name)
      continue;
    if (!c.method_is(http::verb::get))
      return;
    // Revalidated on each load, so that a new binary's page never runs with an old script.
    return c.send(bytes_response(type, "no-cache", std::string(body)));
  }
  c.not_found_route();
}

} // namespace rundun::api
