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
  std::string_view run_id;     ///< `r-…`; empty for an operator's notice, which has none
  std::string_view created_at; ///< RFC 3339, when the event happened
  std::string_view data_json;  ///< the `data` object, already serialised
};

/// An event's envelope, built once per event: every attempt's body is the same bytes but
/// for `delivery_attempt`, which `body` writes between the two parts. A retry copies these
/// bytes once; it never encodes the event or its data again.
class envelope_template {
public:
  /// `f.delivery_attempt` is ignored.
  explicit envelope_template(const envelope_fields& f);

  /// The body of attempt `attempt` (1 on the first), the same as `encode_envelope` makes.
  std::string body(int attempt) const;

private:
  std::string text_;      ///< the envelope without the attempt's digits
  std::size_t split_ = 0; ///< where the digits go
};

/// The JSON body of one delivery attempt:
/// `{"event","event_id","delivery_attempt","run_id","created_at","data"}` (no `run_id` when
/// it is empty).
/// `data_json` is spliced in as is, so an attempt costs no re-serialisation of the data.
std::string encode_envelope(const envelope_fields& f);

/// The user agent every delivery carries.
std::string user_agent();

} // namespace rundun::net
