#include "api/strict_json.hpp"

#include <cmath>
#include <unordered_set>
#include <vector>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse.hpp>

namespace rundun::api {

namespace json = boost::json;
using boost::system::error_code;

namespace {

/// A SAX handler that builds nothing: it only checks what Boost.JSON's parser allows but
/// the API refuses.
struct strictness_check {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  std::vector<std::unordered_set<std::string>> keys;
  std::string key;
  std::string why;

  bool refuse(std::string reason, error_code& ec) {
    why = std::move(reason);
    ec = json::error::syntax;
    return false;
  }

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_object_begin(error_code&) {
    keys.emplace_back();
    return true;
  }
  bool on_object_end(std::size_t, error_code&) {
    keys.pop_back();
    return true;
  }
  bool on_array_begin(error_code&) { return true; }
  bool on_array_end(std::size_t, error_code&) { return true; }
  bool on_key_part(json::string_view s, std::size_t, error_code&) {
    key.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, error_code& ec) {
    key.append(s.data(), s.size());
    bool fresh = keys.back().insert(key).second;
    auto k = std::move(key);
    key.clear();
    if (!fresh)
      return refuse("the key '" + k.substr(0, 64) + "' appears twice in one object", ec);
    return true;
  }
  bool on_string_part(json::string_view, std::size_t, error_code&) { return true; }
  bool on_string(json::string_view, std::size_t, error_code&) { return true; }
  bool on_number_part(json::string_view, error_code&) { return true; }
  bool on_int64(std::int64_t, json::string_view, error_code&) { return true; }
  bool on_uint64(std::uint64_t, json::string_view, error_code&) { return true; }
  bool on_double(double d, json::string_view, error_code& ec) {
    if (!std::isfinite(d))
      return refuse("a number is out of range", ec);
    return true;
  }
  bool on_bool(bool, error_code&) { return true; }
  bool on_null(error_code&) { return true; }
  bool on_comment_part(json::string_view, error_code&) { return true; }
  bool on_comment(json::string_view, error_code&) { return true; }
};

} // namespace

std::optional<json::value> parse_strict_json(std::string_view text, std::string& why) {
  json::parse_options opts;
  opts.max_depth = max_json_depth;
  json::basic_parser<strictness_check> check{opts};
  error_code ec;
  check.write_some(false, text.data(), text.size(), ec);
  if (ec) {
    why = check.handler().why.empty() ? ec.message() : check.handler().why;
    return std::nullopt;
  }
  auto v = json::parse(text, ec, {}, opts);
  if (ec) {
    why = ec.message();
    return std::nullopt;
  }
  return v;
}

} // namespace rundun::api
