#pragma once

#include <exception>
#include <string>

namespace rundun {

/// A one-line description of a caught exception for logs and exit reasons: its `what()`, or
/// "unknown exception" for a type that is not a std::exception.
std::string describe_exception(const std::exception_ptr& e);

} // namespace rundun
