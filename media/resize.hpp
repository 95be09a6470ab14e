#pragma once

#include "media/image.hpp"

namespace rundun::media {

/// The image scaled down, aspect kept, so that its longest side is at most `max_side`; an
/// image that already fits comes back as is. Area averaging: every source pixel counts, so
/// a large reduction does not alias.
rgb_image downscale_to_fit(const rgb_image& img, int max_side);

} // namespace rundun::media
