#pragma once

#include "media/error.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace rundun::media {

/// Thumbnails fit in this square, aspect kept.
constexpr int thumbnail_max_side = 256;
/// And in this many bytes: the JPEG quality is lowered step by step until they do.
constexpr std::size_t max_thumbnail_bytes = 24 * 1024;

enum class image_format { jpeg, png };

/// What an uploaded photo becomes: its displayed size and its inline thumbnail.
struct rendered_photo {
  /// As displayed, after the EXIF orientation.
  int width = 0;
  int height = 0;
  /// An upright JPEG, longest side at most 256 px, at most 24 KiB.
  std::string thumbnail_jpeg;
  int thumbnail_width = 0;
  int thumbnail_height = 0;
};

/// Decodes an upload of the declared format and makes its thumbnail. CPU-bound (about a
/// DCT-scaled decode and a 256 px encode); called off the actor and io threads. Errors:
/// `not_jpeg`/`not_png` (not a valid image of that format), `too_many_pixels` (a
/// decompression bomb, refused before decoding).
result<rendered_photo> render_photo(image_format format, std::span<const std::uint8_t> bytes);

} // namespace rundun::media
