#pragma once

#include "media/error.hpp"
#include "media/image.hpp"

#include <span>
#include <string>

namespace rundun::media {

struct image_size {
  int width = 0;
  int height = 0;
};

/// The dimensions a JPEG declares, read from its header without decoding pixels.
result<image_size> read_jpeg_size(std::span<const std::uint8_t> jpeg);

/// Decodes a JPEG to RGB, letting libjpeg-turbo scale in the DCT domain (by 1/2, 1/4 or 1/8)
/// as far as it can while the longest side stays at least `min_longest_side`: a 12-megapixel
/// photo bound for a 256 px thumbnail is decoded at 1/8 size. Warnings (a truncated file)
/// are errors. Refuses more than `max_pixels` before decoding anything.
result<rgb_image> decode_jpeg(std::span<const std::uint8_t> jpeg, int min_longest_side);

/// Encodes RGB as a baseline JPEG at `quality` (1 to 100), 4:2:0.
result<std::string> encode_jpeg(const rgb_image& img, int quality);

} // namespace rundun::media
