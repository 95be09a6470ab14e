#include "persistence/domain_error.hpp"

#include <stdexcept>

namespace rundun {

domain_error invalid_field(std::string message) {
  return {error_kind::invalid_input, "invalid_field", std::move(message), {}};
}

domain_error not_found(std::string code, std::string message) {
  return {error_kind::not_found, std::move(code), std::move(message), {}};
}

domain_error conflict(std::string code, std::string message) {
  return {error_kind::conflict, std::move(code), std::move(message), {}};
}

void throw_exception_from_error(const domain_error& e, const boost::source_location&) {
  throw std::runtime_error(e.code + ": " + e.message);
}

} // namespace rundun
