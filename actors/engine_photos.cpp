// Photo uploads: the cheap refusals on the caller's thread, then the bounded media queue,
// where each upload is decoded and its thumbnail made, then the run's actor, which adds it.

#include "actors/engine_impl.hpp"

#include "actors/messages.hpp"
#include "media/thumbnail.hpp"

#include <cstdint>

#include <boost/asio/post.hpp>

namespace rundun {

namespace {

/// The image format of an upload's Content-Type, or none for a type that is not taken.
std::optional<media::image_format> image_format_of(std::string_view content_type) {
  if (content_type == "image/jpeg")
    return media::image_format::jpeg;
  if (content_type == "image/png")
    return media::image_format::png;
  return std::nullopt;
}

/// The run of link `token` when its step `step_id` can take a photo, or why not. Checked
/// before anything is decoded.
outcome<run_id> run_taking_photo(const engine& eng, std::string_view token,
                                 const std::string& step_id) {
  auto run = eng.get_run_by_token(token);
  if (!run)
    return run.error();
  if (auto refusal = refuse_if_ended(*run))
    return *refusal;
  if (!run->find_step(step_id))
    return not_found("step_not_found", "step '" + step_id + "' is not in this run");
  return std::move(run->id);
}

/// Decodes an upload and makes its thumbnail, or says why the image is refused.
outcome<media::rendered_photo> render_upload(media::image_format format, const std::string& bytes) {
  auto rendered = media::render_photo(
      format, {reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
  if (!rendered) {
    auto code =
        rendered.error() == media::errc::too_many_pixels ? "image_too_large" : "invalid_image";
    return domain_error{error_kind::invalid_input, code, rendered.error().message(), {}};
  }
  return std::move(*rendered);
}

} // namespace

void engine::add_photo(std::string_view token, std::string step_id, std::string content_type,
                       std::string bytes, callback<uploaded_photo> done) {
  auto format = image_format_of(content_type);
  if (!format)
    return done(domain_error{error_kind::unsupported,
                             "unsupported_media_type",
                             "Content-Type must be image/jpeg or image/png",
                             {}});
  // Cheap refusals first, so that nothing is decoded for a link or step that cannot take it.
  auto run = run_taking_photo(*this, token, step_id);
  if (!run)
    return done(run.error());
  auto& p = *impl_;
  // A bounded queue: each upload holds up to 10 MiB until its thumbnail is made.
  if (p.media_queued.fetch_add(1) >= p.opts.media_queue_limit) {
    p.media_queued.fetch_sub(1);
    return done(domain_error{error_kind::overloaded,
                             "overloaded",
                             "too many photos are being processed; try again shortly",
                             {}});
  }
  boost::asio::post(p.media, [&p, id = std::move(*run), step_id = std::move(step_id),
                              content_type = std::move(content_type), bytes = std::move(bytes),
                              format = *format, done = std::move(done)]() mutable {
    if (p.opts.faults.before_media)
      p.opts.faults.before_media();
    auto rendered = render_upload(format, bytes);
    // Decoded: the queue has room again (the bytes travel on, to the store, without copies).
    p.media_queued.fetch_sub(1);
    if (!rendered)
      return done(rendered.error());
    photo_record rec{p.ctx->ids.photo(),
                     id,
                     step_id,
                     content_type,
                     rendered->width,
                     rendered->height,
                     rendered->thumbnail_width,
                     rendered->thumbnail_height,
                     now()};
    p.add_rendered_photo(std::move(rec), std::move(bytes), std::move(rendered->thumbnail_jpeg),
                         std::move(done));
  });
}

void engine::impl::add_rendered_photo(photo_record rec, std::string bytes,
                                      std::string thumbnail_jpeg, callback<uploaded_photo> done) {
  uploaded_photo answer{rec.id, rec.width, rec.height};
  auto id = rec.run;
  auto step_id = rec.step;
  run_command cmd{std::move(id),
                  run_action::add_photo,
                  std::move(step_id),
                  {},
                  std::make_shared<const photo_upload>(
                      photo_upload{std::move(rec), std::move(bytes), std::move(thumbnail_jpeg)}),
                  {}};
  command(std::move(cmd), [answer, done](outcome<run_record> r) {
    if (!r)
      return done(r.error());
    done(answer);
  });
}

} // namespace rundun
