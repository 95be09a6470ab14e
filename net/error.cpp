#include "net/error.hpp"

namespace rundun::net {

namespace {

class category_impl : public boost::system::error_category {
public:
  const char* name() const noexcept override { return "rundun.net"; }

  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
    case errc::url_malformed:
      return "must be an absolute http or https URL";
    case errc::url_scheme:
      return "must use the http or https scheme";
    case errc::url_host:
      return "must have a valid host";
    case errc::url_port:
      return "must have a port between 1 and 65535";
    case errc::url_userinfo:
      return "must not contain user information";
    case errc::url_fragment:
      return "must not contain a fragment";
    case errc::duration_malformed:
      return "must be a whole number followed by ms, s, m or h";
    case errc::schedule_empty:
      return "must list at least one delay";
    case errc::timeout:
      return "timeout";
    case errc::response_too_large:
      return "response too large";
    }
    return "unknown net error";
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

} // namespace rundun::net
