#pragma once

#include <cstdint>
#include <vector>

namespace rundun::media {

/// Decoded pixels: 8-bit RGB, rows top to bottom, no padding.
struct rgb_image {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> pixels;

  static rgb_image blank(int w, int h) {
    return {w, h, std::vector<std::uint8_t>(static_cast<std::size_t>(w) * h * 3)};
  }
  std::uint8_t* at(int x, int y) { return &pixels[(static_cast<std::size_t>(y) * width + x) * 3]; }
  const std::uint8_t* at(int x, int y) const {
    return &pixels[(static_cast<std::size_t>(y) * width + x) * 3];
  }
};

/// More pixels than this is a decompression bomb: refused before anything is decoded.
constexpr std::uint64_t max_pixels = 50'000'000;

} // namespace rundun::media
