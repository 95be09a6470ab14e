#include "actors/cluster_members.hpp"

#include <charconv>

namespace rundun::cluster {

bool valid_node_id(std::string_view id) {
  if (id.empty() || id.size() > max_node_id_chars)
    return false;
  for (char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
      return false;
  return true;
}

namespace {

std::variant<member, std::string> parse_member(std::string_view entry) {
  auto bad = [&](std::string why) {
    return "--cluster entry '" + std::string(entry) + "' " + std::move(why) +
           " (expected ID=HOST:PORT)";
  };
  auto eq = entry.find('=');
  auto colon = entry.rfind(':');
  if (eq == std::string_view::npos || colon == std::string_view::npos || colon < eq)
    return bad("is malformed");
  member m;
  m.id = std::string(entry.substr(0, eq));
  if (!valid_node_id(m.id))
    return bad("has an id that does not match [a-z0-9-]{1,32}");
  auto host = entry.substr(eq + 1, colon - eq - 1);
  if (host.starts_with('[') && host.ends_with(']'))
    host = host.substr(1, host.size() - 2);
  if (host.empty())
    return bad("has no host");
  m.host = std::string(host);
  auto port = entry.substr(colon + 1);
  unsigned p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc{} || end != port.data() + port.size() || p == 0 || p > 65535)
    return bad("has a port that is not 1 to 65535");
  m.port = static_cast<std::uint16_t>(p);
  m.mark = make_owner_mark(m.id);
  return m;
}

} // namespace

std::variant<std::vector<member>, std::string> parse_members(std::string_view list,
                                                             std::string_view self) {
  std::vector<member> out;
  while (!list.empty()) {
    auto comma = list.find(',');
    auto entry = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    auto m = parse_member(entry);
    if (auto* error = std::get_if<std::string>(&m))
      return *error;
    auto& next = std::get<member>(m);
    for (auto& seen : out) {
      if (seen.id == next.id)
        return "--cluster lists node '" + next.id + "' twice";
      if (seen.mark == next.mark)
        return "--cluster nodes '" + seen.id + "' and '" + next.id +
               "' would mark their ids alike; rename one of them";
    }
    out.push_back(std::move(next));
  }
  if (out.empty())
    return std::string{"--cluster must list at least this node, as ID=HOST:PORT"};
  for (auto& m : out)
    if (m.id == self)
      return out;
  return "--cluster must list this node ('" + std::string(self) + "') among its members";
}

const member* find_by_mark(const std::vector<member>& members, owner_mark mark) {
  for (auto& m : members)
    if (m.mark == mark)
      return &m;
  return nullptr;
}

} // namespace rundun::cluster
