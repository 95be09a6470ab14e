#pragma once

#include <string>
#include <vector>

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

namespace rundun {

/// The broad class of a refusal; the HTTP layer maps it to a status code.
enum class error_kind {
  invalid_input, ///< 400: a field is malformed or out of range
  not_found,     ///< 404: unknown id, token or step
  conflict,      ///< 409: not allowed in the current state
  gone,          ///< 410: the run's link expired
  unsupported,   ///< 415: a photo of a content type other than JPEG or PNG
  storage,       ///< 5xx: the store failed (disk full, I/O)
  overloaded,    ///< 503 with Retry-After: a bounded queue is full; nothing was changed
  unavailable,   ///< 503 with Retry-After: the node that owns the record cannot be reached
};

/// Why the engine refused a command. `code` is the contract's snake_case error code and
/// `message` a sentence for humans that names the field and what is allowed.
struct domain_error {
  error_kind kind = error_kind::invalid_input;
  std::string code;
  std::string message;
  /// For `steps_missing`: the required steps that are not completed.
  std::vector<std::string> steps;
};

/// A value or a refusal, the result type of the engine's pure logic and of its commands.
template <class T>
using outcome = boost::system::result<T, domain_error>;

/// Shorthands for the common refusals.
domain_error invalid_field(std::string message);
domain_error not_found(std::string code, std::string message);
domain_error conflict(std::string code, std::string message);

/// Lets `outcome<T>::value()` throw on a refusal (used only in tests and examples).
[[noreturn]] void throw_exception_from_error(const domain_error& e, const boost::source_location&);

} // namespace rundun
