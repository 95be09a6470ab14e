#include "net/envelope.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

namespace rundun::net {

namespace {

void append_json_string(std::string& out, std::string_view s) {
  out += boost::json::serialize(boost::json::string(s));
}

} // namespace

std::string encode_envelope(const envelope_fields& f) {
  std::string out;
  out.reserve(f.data_json.size() + 192);
  out += "{\"event\":";
  append_json_string(out, f.event);
  out += ",\"event_id\":";
  append_json_string(out, f.event_id);
  out += ",\"delivery_attempt\":";
  out += std::to_string(f.delivery_attempt);
  out += ",\"run_id\":";
  append_json_string(out, f.run_id);
  out += ",\"created_at\":";
  append_json_string(out, f.created_at);
  out += ",\"data\":";
  out += f.data_json;
  out += '}';
  return out;
}

std::string user_agent() {
  return "Rundun-Webhooks/" RUNDUN_VERSION;
}

} // namespace rundun::net
