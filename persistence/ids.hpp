#pragma once

#include <compare>
#include <functional>
#include <string>

namespace rundun {

/// A string id that cannot be mixed up with an id of another kind: an `event_id` is not a
/// `run_id`. The prefix (`t-`, `r-`, `evt-`, `p-`) is part of the value.
template <class Tag>
struct basic_id {
  std::string value;

  friend auto operator<=>(const basic_id&, const basic_id&) = default;
  friend bool operator==(const basic_id&, const basic_id&) = default;
};

/// CAF-style inspection, so that ids can travel inside actor messages without this header
/// knowing CAF.
template <class Inspector, class Tag>
auto inspect(Inspector& f, basic_id<Tag>& x) {
  return f(x.value);
}

using template_id = basic_id<struct template_id_tag>;
using run_id = basic_id<struct run_id_tag>;
using event_id = basic_id<struct event_id_tag>;
using photo_id = basic_id<struct photo_id_tag>;

/// A fresh random UUID v4 in its canonical lowercase form. Uses OpenSSL's CSPRNG.
std::string make_uuid_v4();

/// Fresh ids with their contracted prefixes.
template_id make_template_id();
run_id make_run_id();
event_id make_event_id();
photo_id make_photo_id();

/// A run link token: 256 random bits, base64url without padding (43 characters).
std::string make_link_token();

/// `n` random bytes from OpenSSL's CSPRNG. Aborts if the CSPRNG fails, which only happens
/// when the system has no entropy source at all.
std::string random_bytes(std::size_t n);

} // namespace rundun

template <class Tag>
struct std::hash<rundun::basic_id<Tag>> {
  std::size_t operator()(const rundun::basic_id<Tag>& x) const noexcept {
    return std::hash<std::string>{}(x.value);
  }
};
