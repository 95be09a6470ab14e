#pragma once

#include "media/error.hpp"
#include "media/image.hpp"

#include <span>

namespace rundun::media {

/// Decodes a PNG to RGB; transparency is composited onto white. Refuses more than
/// `max_pixels` after reading the header, before decoding any row.
result<rgb_image> decode_png(std::span<const std::uint8_t> png);

} // namespace rundun::media
