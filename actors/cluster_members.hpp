#pragma once

// A cluster's static membership (contract §9): who the members are, where their CAF
// middleman listens, and which owner mark each one's ids carry. Pure logic, no actor.

#include "persistence/ids.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace rundun::cluster {

/// One node of the cluster.
struct member {
  std::string id;
  std::string host;
  std::uint16_t port = 0;
  owner_mark mark;

  std::string address() const { return host + ":" + std::to_string(port); }
};

/// The most characters of a node id.
inline constexpr std::size_t max_node_id_chars = 32;

/// A node id matches `[a-z0-9-]{1,32}`.
bool valid_node_id(std::string_view id);

/// Parses `ID=HOST:PORT,ID=HOST:PORT,…` as given to node `self`. Returns the members, or a
/// message naming what is wrong: a malformed entry, a bad id or port, an id listed twice,
/// two ids that share an owner mark (rename one), or a list without `self`.
std::variant<std::vector<member>, std::string> parse_members(std::string_view list,
                                                             std::string_view self);

/// The member whose ids carry `mark`, if any.
const member* find_by_mark(const std::vector<member>& members, owner_mark mark);

} // namespace rundun::cluster
