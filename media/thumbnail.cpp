#include "media/thumbnail.hpp"

#include "media/jpeg_codec.hpp"
#include "media/orientation.hpp"
#include "media/png_codec.hpp"
#include "media/resize.hpp"

#include <algorithm>

namespace rundun::media {

namespace {

constexpr int first_quality = 85;
constexpr int quality_step = 10;
constexpr int last_quality = 15;

/// Encodes at falling quality until the thumbnail fits its byte budget.
result<std::string> encode_within_budget(const rgb_image& thumb) {
  for (int q = first_quality;; q -= quality_step) {
    q = std::max(q, last_quality);
    auto bytes = encode_jpeg(thumb, q);
    if (!bytes || bytes->size() <= max_thumbnail_bytes || q == last_quality)
      return bytes;
  }
}

} // namespace

result<rendered_photo> render_photo(image_format format, std::span<const std::uint8_t> bytes) {
  rendered_photo out;
  rgb_image thumb;
  if (format == image_format::jpeg) {
    auto size = read_jpeg_size(bytes);
    if (!size)
      return size.error();
    int orientation = exif_orientation(bytes);
    out.width = swaps_axes(orientation) ? size->height : size->width;
    out.height = swaps_axes(orientation) ? size->width : size->height;
    auto decoded = decode_jpeg(bytes, thumbnail_max_side);
    if (!decoded)
      return decoded.error();
    // Scale first, rotate the small image after: the same result for far less work.
    thumb = apply_orientation(downscale_to_fit(*decoded, thumbnail_max_side), orientation);
  } else {
    auto decoded = decode_png(bytes);
    if (!decoded)
      return decoded.error();
    out.width = decoded->width;
    out.height = decoded->height;
    thumb = downscale_to_fit(*decoded, thumbnail_max_side);
  }
  auto jpeg = encode_within_budget(thumb);
  if (!jpeg)
    return jpeg.error();
  if (jpeg->size() > max_thumbnail_bytes)
    return errc::encode_failed;
  out.thumbnail_jpeg = std::move(*jpeg);
  out.thumbnail_width = thumb.width;
  out.thumbnail_height = thumb.height;
  return out;
}

} // namespace rundun::media
