#pragma once

#include "media/image.hpp"

#include <cstdint>
#include <string>

namespace rundun::test {

/// Four coloured quadrants: red top-left, green top-right, blue bottom-left, white
/// bottom-right. Orientation tests read the corners back.
media::rgb_image quadrants(int width, int height);

/// Random pixels: the worst case for JPEG size.
media::rgb_image noise(int width, int height, unsigned seed = 1);

/// A JPEG of `img`; with `orientation` 1..8 it carries an Exif APP1 segment with that tag.
std::string make_jpeg(const media::rgb_image& img, int orientation = 0, int quality = 90);

/// An RGBA PNG: opaque red with a fully transparent right half.
std::string make_png_with_alpha(int width, int height);

/// An RGB PNG of `img`.
std::string make_png(const media::rgb_image& img);

/// A tiny JPEG whose header declares `width` x `height`: a decompression bomb.
std::string jpeg_declaring(int width, int height);

/// A tiny PNG whose IHDR declares `width` x `height`, with a valid CRC.
std::string png_declaring(int width, int height);

} // namespace rundun::test
