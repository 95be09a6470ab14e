#include "actors/actor_failure.hpp"

namespace rundun {

std::string describe_exception(const std::exception_ptr& e) {
  try {
    if (e)
      std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
  }
  return "unknown exception";
}

} // namespace rundun
