#include "media/jpeg_codec.hpp"

#include <algorithm>
#include <memory>
#include <turbojpeg.h>

namespace rundun::media {

namespace {

struct handle_deleter {
  void operator()(void* h) const { tjDestroy(h); }
};
using tj_handle = std::unique_ptr<void, handle_deleter>;

} // namespace

result<image_size> read_jpeg_size(std::span<const std::uint8_t> jpeg) {
  tj_handle tj{tjInitDecompress()};
  int w = 0, h = 0, subsampling = 0, colorspace = 0;
  if (!tj || jpeg.empty() ||
      tjDecompressHeader3(tj.get(), jpeg.data(), static_cast<unsigned long>(jpeg.size()), &w, &h,
                          &subsampling, &colorspace) != 0 ||
      w <= 0 || h <= 0)
    return errc::not_jpeg;
  return image_size{w, h};
}

result<rgb_image> decode_jpeg(std::span<const std::uint8_t> jpeg, int min_longest_side) {
  auto size = read_jpeg_size(jpeg);
  if (!size)
    return size.error();
  if (static_cast<std::uint64_t>(size->width) * size->height > max_pixels)
    return errc::too_many_pixels;
  // The smallest scale whose result keeps the longest side at least min_longest_side.
  int count = 0;
  tjscalingfactor* factors = tjGetScalingFactors(&count);
  tjscalingfactor best{1, 1};
  int longest = std::max(size->width, size->height);
  for (int i = 0; i < count; ++i) {
    auto f = factors[i];
    if (f.num > f.denom)
      continue; // only reductions
    int scaled = TJSCALED(longest, f);
    if (scaled >= min_longest_side && f.num * best.denom < best.num * f.denom)
      best = f;
  }
  int w = TJSCALED(size->width, best), h = TJSCALED(size->height, best);
  auto img = rgb_image::blank(w, h);
  tj_handle tj{tjInitDecompress()};
  if (tjDecompress2(tj.get(), jpeg.data(), static_cast<unsigned long>(jpeg.size()),
                    img.pixels.data(), w, 0, h, TJPF_RGB, TJFLAG_STOPONWARNING) != 0)
    return errc::not_jpeg;
  return img;
}

result<std::string> encode_jpeg(const rgb_image& img, int quality) {
  tj_handle tj{tjInitCompress()};
  unsigned char* out = nullptr;
  unsigned long out_size = 0;
  if (!tj || tjCompress2(tj.get(), img.pixels.data(), img.width, 0, img.height, TJPF_RGB, &out,
                         &out_size, TJSAMP_420, quality, 0) != 0) {
    tjFree(out);
    return errc::encode_failed;
  }
  std::string bytes(reinterpret_cast<const char*>(out), out_size);
  tjFree(out);
  return bytes;
}

} // namespace rundun::media
