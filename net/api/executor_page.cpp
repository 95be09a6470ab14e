#include "net/api/executor_page.hpp"

namespace rundun::api {

namespace {

constexpr std::string_view page_head = R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>)";

constexpr std::string_view page_style = R"(</title>
<style>
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:40rem;padding:1rem;color:#111;background:#fff}
section{border:1px solid #888;border-radius:.5rem;padding:.75rem;margin:.75rem 0}
.status{font-weight:600}
</style></head><body>
)";

} // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    case '\'':
      out += "&#39;";
      break;
    default:
      out += c;
    }
  }
  return out;
}

std::string executor_page(const run_record& run) {
  std::size_t done = 0;
  for (auto& s : run.steps)
    if (s.status != step_status::pending)
      ++done;
  std::string html{page_head};
  html += html_escape(run.template_name);
  html += page_style;
  html += "<main><h1>" + html_escape(run.template_name) + "</h1>\n";
  html += "<p>" + std::to_string(done) + " of " + std::to_string(run.steps.size()) +
          " done &middot; run <span class=\"status\">" + std::string(to_string(run.status)) +
          "</span> &middot; link valid until " + format_rfc3339(run.expires_at) + "</p>\n";
  for (auto& s : run.steps) {
    auto title = html_escape(s.def.title);
    html += "<section aria-label=\"" + title + "\"><h2>" + title + "</h2><p>" +
            (s.def.required ? "Required" : "Optional") + " &middot; photos " +
            std::to_string(s.photos.size()) + " of " + std::to_string(s.def.photos_required) +
            " &middot; <span class=\"status\">" + std::string(to_string(s.status)) +
            "</span></p></section>\n";
  }
  html += "</main></body></html>\n";
  return html;
}

std::string link_not_found_page() {
  std::string html{page_head};
  html += "Link not found";
  html += page_style;
  html += "<main><h1>Link not found</h1><p>This link does not lead to a checklist. Check that "
          "it was copied completely.</p></main></body></html>\n";
  return html;
}

} // namespace rundun::api
