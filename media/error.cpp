#include "media/error.hpp"

namespace rundun::media {

namespace {

class category_impl : public boost::system::error_category {
public:
  const char* name() const noexcept override { return "rundun.media"; }

  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
    case errc::not_jpeg:
      return "the body is not a valid JPEG image";
    case errc::not_png:
      return "the body is not a valid PNG image";
    case errc::too_many_pixels:
      return "the image has more than 50 megapixels";
    case errc::encode_failed:
      return "the thumbnail could not be encoded";
    }
    return "unknown media error";
  }
};

} // namespace

const boost::system::error_category& category() {
  static const category_impl instance;
  return instance;
}

boost::system::error_code make_error_code(errc e) {
  return {static_cast<int>(e), category()};
}

} // namespace rundun::media
