#pragma once

#include "persistence/listing.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace rundun::api {

/// Which list a cursor belongs to: a cursor of one list is refused by another.
enum class list_kind : char { runs = 'r', events = 'e', endpoints = 'n' };

/// The lists' opaque `next_cursor`: where the page ended, bound to its list and its filters,
/// and signed, so that a cursor that was altered, made up, or used with other filters is
/// refused (`400 invalid_cursor`) instead of listing something else. The limit may change
/// from page to page.
///
/// The key comes from the API key's hash, which every node of a cluster shares: a cursor
/// one node gave is good on any other. Thread-safe (const).
class cursor_codec {
public:
  explicit cursor_codec(std::string_view api_key_hash);

  /// `filters` is the canonical text of the request's filters (see list_params.hpp).
  std::string encode(list_kind kind, std::string_view filters, const list_position& at) const;
  /// The position, or none for a cursor this codec did not make for this list and filters.
  std::optional<list_position> decode(list_kind kind, std::string_view filters,
                                      std::string_view cursor) const;

private:
  std::string mac(std::string_view payload, std::string_view filters) const;
  std::string key_;
};

} // namespace rundun::api
