#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

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

/// The cluster node that made an id, kept in the id itself, so that any node finds a run's
/// owner from its id, link token, event ids and photo ids without a lookup. A value in
/// 1..max_owner_mark; ids made by a single node carry none (0, the default).
struct owner_mark {
  std::uint16_t value = 0;
  friend bool operator==(owner_mark, owner_mark) = default;
};

constexpr std::uint16_t max_owner_mark = 0x0fff;

/// The mark of the node called `node_id`: a hash of the name, so that every node computes
/// the same marks from the same member list. Two names may share a mark; the cluster's
/// configuration refuses such a list.
owner_mark make_owner_mark(std::string_view node_id);

/// A fresh UUID v7 (RFC 9562) carrying `owner` in its 12 `rand_a` bits: the 48-bit Unix
/// time in milliseconds (of `now()`), then 62 bits that are random in a new millisecond and
/// grow by a random step within one (§6.2, method 2). So the ids a process makes are
/// strictly increasing, on every thread: they sort in the order they were made, and new
/// records' keys append to the store's trees. `owner_mark{}` leaves `rand_a` zero: no owner.
std::string make_uuid_v7(owner_mark owner = {});

/// The owner marked in an id such as `r-<uuid>` (any prefix up to the first '-'), or none
/// for an id without one (a UUID v4, a v7 with a zero mark, or anything malformed).
std::optional<owner_mark> owner_of_id(std::string_view id);

/// The owner marked in a run link token, or none for a token without one.
std::optional<owner_mark> owner_of_token(std::string_view token);

/// A run link token: 256 random bits, base64url without padding (43 characters).
std::string make_link_token();

/// A run link token of the same shape that carries `owner`: its first two characters hold
/// the 12-bit mark, its last one is 'B' (a padded 256-bit token's last character is always
/// a multiple of 4 in the alphabet, so the two kinds never mix), and 240 bits are random.
std::string make_link_token(owner_mark owner);

/// Makes the ids of one engine: UUID v7, marked with its node when it is part of a cluster,
/// unmarked otherwise. (Single nodes made UUID v4 ids before; those stay valid, unmarked.)
class id_minter {
public:
  id_minter() = default;
  explicit id_minter(std::optional<owner_mark> owner) : owner_(owner) {}

  template_id template_() const { return {"t-" + uuid()}; }
  run_id run() const { return {"r-" + uuid()}; }
  event_id event() const { return {"evt-" + uuid()}; }
  photo_id photo() const { return {"p-" + uuid()}; }
  std::string link_token() const { return owner_ ? make_link_token(*owner_) : make_link_token(); }
  std::optional<owner_mark> owner() const { return owner_; }

private:
  std::string uuid() const { return make_uuid_v7(owner_.value_or(owner_mark{})); }
  std::optional<owner_mark> owner_;
};

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
