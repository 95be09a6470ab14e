// libFuzzer target: uploaded photos, from bytes to a thumbnail (the EXIF reader is ours).
#include "media/orientation.hpp"
#include "media/thumbnail.hpp"

#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace rundun::media;
  std::span<const std::uint8_t> bytes{data, size};
  (void)exif_orientation(bytes);
  (void)render_photo(size % 2 ? image_format::jpeg : image_format::png, bytes);
  return 0;
}
