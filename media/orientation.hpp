#pragma once

#include "media/image.hpp"

#include <cstdint>
#include <span>

namespace rundun::media {

/// The EXIF orientation (1 to 8) of a JPEG, from its APP1 Exif segment; 1 when there is
/// none or it is unreadable. Reads only the segment headers, never pixel data.
int exif_orientation(std::span<const std::uint8_t> jpeg);

/// True for the orientations (5 to 8) that swap width and height when displayed.
inline bool swaps_axes(int orientation) {
  return orientation >= 5 && orientation <= 8;
}

/// The image as it is meant to be displayed: rotated and mirrored per `orientation`.
rgb_image apply_orientation(const rgb_image& img, int orientation);

} // namespace rundun::media
