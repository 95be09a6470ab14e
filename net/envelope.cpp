#include "net/envelope.hpp"

#include <charconv>
#include <iterator>

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

namespace rundun::net {

namespace {

void append_json_string(std::string& out, std::string_view s) {
  out += boost::json::serialize(boost::json::string(s));
}

} // namespace

envelope_template::envelope_template(const envelope_fields& f) {
  text_.reserve(f.data_json.size() + 192);
  text_ += "{\"event\":";
  append_json_string(text_, f.event);
  text_ += ",\"event_id\":";
  append_json_string(text_, f.event_id);
  text_ += ",\"delivery_attempt\":";
  split_ = text_.size();
  // An operator's notice is about an endpoint, not a run: it has no run_id.
  if (!f.run_id.empty()) {
    text_ += ",\"run_id\":";
    append_json_string(text_, f.run_id);
  }
  text_ += ",\"created_at\":";
  append_json_string(text_, f.created_at);
  text_ += ",\"data\":";
  text_ += f.data_json;
  text_ += '}';
}

std::string envelope_template::body(int attempt) const {
  char digits[16];
  auto [end, ec] = std::to_chars(std::begin(digits), std::end(digits), attempt);
  std::string out;
  out.reserve(text_.size() + static_cast<std::size_t>(end - digits));
  out.append(text_, 0, split_);
  out.append(digits, end);
  out.append(text_, split_);
  return out;
}

std::string encode_envelope(const envelope_fields& f) {
  return envelope_template{f}.body(f.delivery_attempt);
}

std::string user_agent() {
  return "Rundun-Webhooks/" RUNDUN_VERSION;
}

} // namespace rundun::net
