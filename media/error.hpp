#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

namespace rundun::media {

/// Why an upload is not a usable photo, in the error category `"rundun.media"`.
enum class errc {
  not_jpeg = 1,    ///< the bytes do not decode as a JPEG
  not_png,         ///< the bytes do not decode as a PNG
  too_many_pixels, ///< the declared dimensions exceed the pixel limit
  encode_failed,   ///< the thumbnail could not be encoded
};

const boost::system::error_category& category();
boost::system::error_code make_error_code(errc e);

template <class T>
using result = boost::system::result<T>;

} // namespace rundun::media

template <>
struct boost::system::is_error_code_enum<rundun::media::errc> : std::true_type {};
