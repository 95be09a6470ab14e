#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace rundun::net {

/// The parts of one webhook delivery that the envelope carries.
struct envelope_fields {
  std::string_view event;      ///< `step.completed`, …
  std::string_view event_id;   ///< `evt-…`, the same on every attempt
  int delivery_attempt = 1;    ///< 1 on the first attempt
  std::string_view run_id;     ///< `r-…`
  std::string_view created_at; ///< RFC 3339, when the event happened
  std::string_view data_json;  ///< the `data` object, already serialised
};

/// The JSON body of one delivery attempt:
/// `{"event","event_id","delivery_attempt","run_id","created_at","data"}`.
/// `data_json` is spliced in as is, so an attempt costs no re-serialisation of the data.
std::string encode_envelope(const envelope_fields& f);

/// The user agent every delivery carries.
std::string user_agent();

} // namespace rundun::net
