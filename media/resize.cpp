#include "media/resize.hpp"

#include <algorithm>
#include <cmath>

namespace rundun::media {

rgb_image downscale_to_fit(const rgb_image& img, int max_side) {
  int longest = std::max(img.width, img.height);
  if (longest <= max_side || longest == 0)
    return img;
  double scale = static_cast<double>(max_side) / longest;
  int w = std::max(1, static_cast<int>(std::lround(img.width * scale)));
  int h = std::max(1, static_cast<int>(std::lround(img.height * scale)));
  w = std::min(w, max_side);
  h = std::min(h, max_side);
  auto out = rgb_image::blank(w, h);
  std::vector<std::uint32_t> sums(static_cast<std::size_t>(w) * 3);
  for (int oy = 0; oy < h; ++oy) {
    int y0 = static_cast<int>(static_cast<long long>(oy) * img.height / h);
    int y1 = std::max(y0 + 1, static_cast<int>(static_cast<long long>(oy + 1) * img.height / h));
    std::fill(sums.begin(), sums.end(), 0);
    std::vector<int> counts(static_cast<std::size_t>(w), 0);
    for (int y = y0; y < y1; ++y) {
      for (int ox = 0; ox < w; ++ox) {
        int x0 = static_cast<int>(static_cast<long long>(ox) * img.width / w);
        int x1 = std::max(x0 + 1, static_cast<int>(static_cast<long long>(ox + 1) * img.width / w));
        const std::uint8_t* p = img.at(x0, y);
        for (int x = x0; x < x1; ++x, p += 3) {
          sums[ox * 3] += p[0];
          sums[ox * 3 + 1] += p[1];
          sums[ox * 3 + 2] += p[2];
        }
        counts[ox] += x1 - x0;
      }
    }
    for (int ox = 0; ox < w; ++ox) {
      auto* d = out.at(ox, oy);
      for (int c = 0; c < 3; ++c)
        d[c] = static_cast<std::uint8_t>((sums[ox * 3 + c] + counts[ox] / 2) / counts[ox]);
    }
  }
  return out;
}

} // namespace rundun::media
