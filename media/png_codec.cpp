#include "media/png_codec.hpp"

#include <png.h>

namespace rundun::media {

result<rgb_image> decode_png(std::span<const std::uint8_t> png) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  if (png.empty() || !png_image_begin_read_from_memory(&image, png.data(), png.size()))
    return errc::not_png;
  if (image.width == 0 || image.height == 0 ||
      static_cast<std::uint64_t>(image.width) * image.height > max_pixels) {
    png_image_free(&image);
    return image.width == 0 || image.height == 0 ? errc::not_png : errc::too_many_pixels;
  }
  // RGB without alpha plus a background colour: libpng composites transparency onto it.
  image.format = PNG_FORMAT_RGB;
  auto img = rgb_image::blank(static_cast<int>(image.width), static_cast<int>(image.height));
  png_color white{255, 255, 255};
  if (!png_image_finish_read(&image, &white, img.pixels.data(), 0, nullptr)) {
    png_image_free(&image);
    return errc::not_png;
  }
  return img;
}

} // namespace rundun::media
