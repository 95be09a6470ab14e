#include "media/orientation.hpp"

#include <algorithm>

namespace rundun::media {

namespace {

std::uint16_t read16(const std::uint8_t* p, bool little) {
  return little ? std::uint16_t(p[0] | (p[1] << 8)) : std::uint16_t((p[0] << 8) | p[1]);
}

std::uint32_t read32(const std::uint8_t* p, bool little) {
  return little ? std::uint32_t(p[0] | (p[1] << 8) | (p[2] << 16) | (std::uint32_t(p[3]) << 24))
                : std::uint32_t((std::uint32_t(p[0]) << 24) | (p[1] << 16) | (p[2] << 8) | p[3]);
}

/// The orientation tag in a TIFF structure (the body of an Exif segment), or 1.
int orientation_in_tiff(std::span<const std::uint8_t> tiff) {
  constexpr std::uint16_t orientation_tag = 0x0112;
  if (tiff.size() < 8)
    return 1;
  bool little = tiff[0] == 'I' && tiff[1] == 'I';
  if (!little && !(tiff[0] == 'M' && tiff[1] == 'M'))
    return 1;
  // In size_t: an offset near 4 GiB must not wrap around the bounds check.
  std::size_t ifd = read32(&tiff[4], little);
  if (ifd > tiff.size() || tiff.size() - ifd < 2)
    return 1;
  auto entries = read16(&tiff[ifd], little);
  for (std::size_t i = 0; i < entries; ++i) {
    auto e = ifd + 2 + i * 12;
    if (e + 12 > tiff.size())
      return 1;
    if (read16(&tiff[e], little) == orientation_tag) {
      auto value = read16(&tiff[e + 8], little);
      return value >= 1 && value <= 8 ? value : 1;
    }
  }
  return 1;
}

} // namespace

int exif_orientation(std::span<const std::uint8_t> jpeg) {
  constexpr std::uint8_t marker = 0xff, soi = 0xd8, app1 = 0xe1, sos = 0xda;
  if (jpeg.size() < 4 || jpeg[0] != marker || jpeg[1] != soi)
    return 1;
  std::size_t pos = 2;
  // Walk the segments before the image data; Exif sits in an APP1 near the start.
  while (pos + 4 <= jpeg.size() && jpeg[pos] == marker) {
    auto type = jpeg[pos + 1];
    if (type == sos)
      break;
    std::size_t length = (std::size_t(jpeg[pos + 2]) << 8) | jpeg[pos + 3];
    if (length < 2 || pos + 2 + length > jpeg.size())
      break;
    auto body = jpeg.subspan(pos + 4, length - 2);
    static constexpr std::uint8_t exif_header[] = {'E', 'x', 'i', 'f', 0, 0};
    if (type == app1 && body.size() > 6 &&
        std::equal(std::begin(exif_header), std::end(exif_header), body.begin()))
      return orientation_in_tiff(body.subspan(6));
    pos += 2 + length;
  }
  return 1;
}

rgb_image apply_orientation(const rgb_image& img, int orientation) {
  if (orientation < 2 || orientation > 8)
    return img;
  int w = img.width, h = img.height;
  auto out = swaps_axes(orientation) ? rgb_image::blank(h, w) : rgb_image::blank(w, h);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      int dx = x, dy = y;
      // Where the stored pixel (x, y) goes on screen, per the EXIF definition.
      switch (orientation) {
      case 2:
        dx = w - 1 - x;
        break; // mirror horizontally
      case 3:
        dx = w - 1 - x;
        dy = h - 1 - y;
        break; // rotate 180
      case 4:
        dy = h - 1 - y;
        break; // mirror vertically
      case 5:
        dx = y;
        dy = x;
        break; // transpose
      case 6:
        dx = h - 1 - y;
        dy = x;
        break; // rotate 90 clockwise
      case 7:
        dx = h - 1 - y;
        dy = w - 1 - x;
        break; // transverse
      case 8:
        dx = y;
        dy = w - 1 - x;
        break; // rotate 90 counter-clockwise
      }
      auto* s = img.at(x, y);
      auto* d = out.at(dx, dy);
      d[0] = s[0];
      d[1] = s[1];
      d[2] = s[2];
    }
  }
  return out;
}

} // namespace rundun::media
