// The routes of an executor's link, /r/{token}…: the executor's page, the run's state as the
// executor sees it, the executor's actions (answer, skip, submit, exit), and photos. The
// token is the only credential: a route answers 404 for a token that no run has. Each route
// is one function; the table in `route_link` says which path and method it answers.

#include "api/page_routes.hpp"
#include "api/request_parsing.hpp"
#include "api/router_call.hpp"
#include "api/router_responses.hpp"
#include "api/views.hpp"

#include <cctype>

namespace rundun::api {

namespace {

/// The media type without parameters, in lower case: "Image/JPEG; foo=bar" is image/jpeg.
std::string media_type(std::string_view content_type) {
  std::string type{content_type};
  type = type.substr(0, type.find(';'));
  while (!type.empty() && type.back() == ' ')
    type.pop_back();
  for (auto& ch : type)
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return type;
}

} // namespace

struct router::link_routes {
  static const std::string& token(call& c) { return c.seg[1]; }

  /// Has the engine apply an executor's action to the run and answers with the run as its
  /// executor now sees it.
  static void act(call& c, run_action action, std::string step, std::string answer) {
    c.owner->engine_.act(token(c), action, std::move(step), std::move(answer),
                         [self = c.shared_from_this()](outcome<run_record> r) {
                           if (!r)
                             return self->fail(r.error());
                           self->reply(200, executor_view(*r));
                         });
  }

  static void page(call& c) {
    auto run = c.owner->engine_.get_run_by_token(token(c));
    if (!run && run.error().kind != error_kind::not_found)
      return c.fail(run.error());
    c.send(executor_page(run ? link_found::yes : link_found::no));
  }

  static void state(call& c) {
    auto run = c.owner->engine_.get_run_by_token(token(c));
    return run ? c.reply(200, executor_view(*run)) : c.fail(run.error());
  }

  static void submit(call& c) { act(c, run_action::submit, {}, {}); }

  static void exit(call& c) { act(c, run_action::exit, {}, {}); }

  static void answer(call& c) {
    // An empty body reads as `{}`.
    auto answer = c.parsed_body(parse_answer, true);
    if (!answer)
      return;
    act(c, run_action::answer, c.seg[3], std::move(*answer));
  }

  static void skip(call& c) { act(c, run_action::skip, c.seg[3], {}); }

  static void upload_photo(call& c) {
    auto type = media_type(c.req[http::field::content_type]);
    if (type != "image/jpeg" && type != "image/png")
      return c.error(415, "unsupported_media_type", "Content-Type must be image/jpeg or image/png");
    c.owner->engine_.add_photo(token(c), c.seg[3], type, std::move(c.req.body()),
                               [self = c.shared_from_this()](outcome<uploaded_photo> r) {
                                 if (!r)
                                   return self->fail(r.error());
                                 self->reply(201, json::object{{"photo_id", r->id.value},
                                                               {"width", r->width},
                                                               {"height", r->height}});
                               });
  }

  static void thumbnail(call& c) {
    auto thumb = c.owner->engine_.get_photo_thumbnail(token(c), photo_id{c.seg[3]});
    if (!thumb)
      return c.fail(thumb.error());
    c.send(bytes_response(thumb->content_type, "private, max-age=86400", std::move(thumb->bytes)));
  }
};

void router::route_link(call& c) {
  using verb = http::verb;
  static const call::route routes[] = {
      {"/r/{token}", verb::get, {}, &link_routes::page},
      {"/r/{token}/state", verb::get, {}, &link_routes::state},
      {"/r/{token}/submit", verb::post, {}, &link_routes::submit},
      {"/r/{token}/exit", verb::post, {}, &link_routes::exit},
      {"/r/{token}/photos/{photo_id}/thumbnail", verb::get, {}, &link_routes::thumbnail},
      {"/r/{token}/steps/{step}/answer", verb::post, {}, &link_routes::answer},
      {"/r/{token}/steps/{step}/skip", verb::post, {}, &link_routes::skip},
      {"/r/{token}/steps/{step}/photos", verb::post, {}, &link_routes::upload_photo},
  };
  c.dispatch(routes);
}

} // namespace rundun::api
