#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

namespace rundun::api {

/// How deep API JSON may nest.
constexpr std::size_t max_json_depth = 32;

/// Parses JSON the strict way the API wants it: valid UTF-8, no duplicate keys in an object,
/// no number outside the range of a double (`1e999`), at most `max_json_depth` levels, no
/// comments or trailing commas. On failure returns `std::nullopt` and sets `why` to a sentence.
std::optional<boost::json::value> parse_strict_json(std::string_view text, std::string& why);

} // namespace rundun::api
