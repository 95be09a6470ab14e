// Thumbnail speed and memory for 12-megapixel uploads (4000x3000), JPEG and PNG.
//
//   ./build/benchmarks/thumbnail_bench [iterations]
//
// Each format is measured in a child process that starts from the encoded file alone, so
// its peak RSS rise is what rendering one thumbnail costs (decode buffers included).

#include "media/jpeg_codec.hpp"
#include "media/thumbnail.hpp"
#include "tests/support/images.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace rundun;

namespace {

constexpr int width = 4000, height = 3000;

/// A photo-like image: smooth gradients with some texture, so that JPEG sizes are realistic.
media::rgb_image photo_like() {
  auto img = media::rgb_image::blank(width, height);
  unsigned seed = 12345;
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      seed = seed * 1103515245 + 12345;
      int grain = static_cast<int>((seed >> 16) & 15) - 8;
      auto* p = img.at(x, y);
      p[0] = static_cast<std::uint8_t>(std::clamp(x * 255 / width + grain, 0, 255));
      p[1] = static_cast<std::uint8_t>(std::clamp(y * 255 / height + grain, 0, 255));
      p[2] = static_cast<std::uint8_t>(
          std::clamp(((x / 200 + y / 200) % 2) * 120 + 60 + grain, 0, 255));
    }
  return img;
}

long max_rss_kb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

/// Runs in a child: renders `iterations` thumbnails of the bytes, prints median ms and the
/// peak RSS rise in MiB on one line.
void measure(media::image_format format, const std::string& bytes, int iterations, int out_fd) {
  long before = max_rss_kb();
  std::vector<double> ms;
  std::size_t thumb_bytes = 0;
  for (int i = 0; i < iterations; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = media::render_photo(
        format, {reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
    auto t1 = std::chrono::steady_clock::now();
    if (!r) {
      std::fprintf(stderr, "render failed: %s\n", r.error().message().c_str());
      _exit(1);
    }
    thumb_bytes = r->thumbnail_jpeg.size();
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  char line[256];
  int n = std::snprintf(line, sizeof line, "%.2f %.2f %.2f %.1f %zu\n", ms[ms.size() / 2],
                        ms.front(), ms.back(), (max_rss_kb() - before) / 1024.0, thumb_bytes);
  (void)!write(out_fd, line, static_cast<std::size_t>(n));
  _exit(0);
}

std::string run_child(media::image_format format, const std::string& bytes, int iterations) {
  int fds[2];
  if (pipe(fds) != 0)
    return "";
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    measure(format, bytes, iterations, fds[1]);
  }
  close(fds[1]);
  std::string out;
  char buf[256];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;)
    out.append(buf, static_cast<std::size_t>(n));
  close(fds[0]);
  waitpid(pid, nullptr, 0);
  return out;
}

std::string cpu_model() {
  std::ifstream in{"/proc/cpuinfo"};
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0)
      return line.substr(line.find(':') + 2);
  return "unknown";
}

} // namespace

int main(int argc, char** argv) {
  int iterations = argc > 1 ? std::max(1, std::atoi(argv[1])) : 15;
  std::printf("thumbnail_bench: %dx%d (12 MP) source, %d iterations per format\n", width, height,
              iterations);
  std::printf("machine: %s, %u cores\n", cpu_model().c_str(), std::thread::hardware_concurrency());
  auto img = photo_like();
  auto jpeg = *media::encode_jpeg(img, 90);
  auto png = test::make_png(img);
  img = {}; // the children start from the encoded bytes only
  std::printf("inputs: JPEG %.1f MiB (quality 90, 4:2:0), PNG %.1f MiB (RGB)\n\n",
              jpeg.size() / 1048576.0, png.size() / 1048576.0);
  std::printf("%-6s %10s %10s %10s %16s %12s\n", "format", "median ms", "min ms", "max ms",
              "peak RSS +MiB", "thumb bytes");
  for (auto [name, format, bytes] : {std::tuple{"JPEG", media::image_format::jpeg, &jpeg},
                                     std::tuple{"PNG", media::image_format::png, &png}}) {
    double median = 0, lo = 0, hi = 0, rss = 0;
    std::size_t thumb = 0;
    auto line = run_child(format, *bytes, iterations);
    std::istringstream in{line};
    in >> median >> lo >> hi >> rss >> thumb;
    std::printf("%-6s %10.2f %10.2f %10.2f %16.1f %12zu\n", name, median, lo, hi, rss, thumb);
  }
  std::printf("\ntarget: JPEG median <= 40 ms on the 2-core dev machine\n");
  return 0;
}
