#include "tests/support/images.hpp"

#include "media/jpeg_codec.hpp"

#include <png.h>
#include <random>
#include <stdexcept>
#include <zlib.h>

namespace rundun::test {

media::rgb_image quadrants(int width, int height) {
  auto img = media::rgb_image::blank(width, height);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      bool right = x >= width / 2, bottom = y >= height / 2;
      auto* p = img.at(x, y);
      if (!right && !bottom) {
        p[0] = 255;
        p[1] = 0;
        p[2] = 0;
      }
      if (right && !bottom) {
        p[0] = 0;
        p[1] = 255;
        p[2] = 0;
      }
      if (!right && bottom) {
        p[0] = 0;
        p[1] = 0;
        p[2] = 255;
      }
      if (right && bottom) {
        p[0] = 255;
        p[1] = 255;
        p[2] = 255;
      }
    }
  return img;
}

media::rgb_image noise(int width, int height, unsigned seed) {
  auto img = media::rgb_image::blank(width, height);
  std::mt19937 rng{seed};
  for (auto& b : img.pixels)
    b = static_cast<std::uint8_t>(rng());
  return img;
}

std::string make_jpeg(const media::rgb_image& img, int orientation, int quality) {
  auto jpeg = *media::encode_jpeg(img, quality);
  if (orientation < 1)
    return jpeg;
  // APP1 "Exif\0\0" + big-endian TIFF with one IFD entry: Orientation (0x0112), SHORT, 1.
  std::string tiff = {'M',  'M',  0, 42, 0, 0, 0, 8, 0, 1,
                      0x01, 0x12, 0, 3,  0, 0, 0, 1, 0, static_cast<char>(orientation),
                      0,    0,    0, 0,  0, 0};
  std::string body = std::string("Exif\0\0", 6) + tiff;
  auto length = body.size() + 2;
  std::string app1 = {static_cast<char>(0xff), static_cast<char>(0xe1),
                      static_cast<char>(length >> 8), static_cast<char>(length & 0xff)};
  return jpeg.substr(0, 2) + app1 + body + jpeg.substr(2);
}

namespace {

std::string write_png(png_image& image, const void* pixels) {
  png_alloc_size_t size = 0;
  if (!png_image_write_to_memory(&image, nullptr, &size, 0, pixels, 0, nullptr))
    throw std::runtime_error("png size");
  std::string out(size, '\0');
  if (!png_image_write_to_memory(&image, out.data(), &size, 0, pixels, 0, nullptr))
    throw std::runtime_error("png write");
  out.resize(size);
  return out;
}

} // namespace

std::string make_png_with_alpha(int width, int height) {
  std::vector<std::uint8_t> rgba(static_cast<std::size_t>(width) * height * 4);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      auto* p = &rgba[(static_cast<std::size_t>(y) * width + x) * 4];
      p[0] = 255;
      p[3] = x >= width / 2 ? 0 : 255;
    }
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(width);
  image.height = static_cast<png_uint_32>(height);
  image.format = PNG_FORMAT_RGBA;
  return write_png(image, rgba.data());
}

std::string make_png(const media::rgb_image& img) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(img.width);
  image.height = static_cast<png_uint_32>(img.height);
  image.format = PNG_FORMAT_RGB;
  return write_png(image, img.pixels.data());
}

std::string jpeg_declaring(int width, int height) {
  auto jpeg = make_jpeg(quadrants(16, 16));
  // Patch the SOF0 frame header: FF C0, length, precision, then height and width.
  for (std::size_t i = 2; i + 9 < jpeg.size(); ++i)
    if (static_cast<unsigned char>(jpeg[i]) == 0xff &&
        static_cast<unsigned char>(jpeg[i + 1]) == 0xc0) {
      jpeg[i + 5] = static_cast<char>(height >> 8);
      jpeg[i + 6] = static_cast<char>(height & 0xff);
      jpeg[i + 7] = static_cast<char>(width >> 8);
      jpeg[i + 8] = static_cast<char>(width & 0xff);
      return jpeg;
    }
  throw std::runtime_error("no SOF0");
}

std::string png_declaring(int width, int height) {
  auto png = make_png(quadrants(4, 4));
  // Bytes 16..23 are IHDR's width and height; 29..32 its CRC over type and data.
  auto put32 = [&](std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i)
      png[at + i] = static_cast<char>(v >> (24 - 8 * i));
  };
  put32(16, static_cast<std::uint32_t>(width));
  put32(20, static_cast<std::uint32_t>(height));
  auto crc = crc32(0, reinterpret_cast<const Bytef*>(png.data() + 12), 17);
  put32(29, static_cast<std::uint32_t>(crc));
  return png;
}

} // namespace rundun::test
