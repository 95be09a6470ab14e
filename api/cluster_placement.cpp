#include "api/cluster_placement.hpp"

#include <cstdint>
#include <vector>

namespace rundun::api {

namespace {

std::vector<std::string_view> segments(std::string_view target) {
  target = target.substr(0, target.find('?'));
  std::vector<std::string_view> out;
  while (!target.empty()) {
    auto start = target.find_first_not_of('/');
    if (start == std::string_view::npos)
      break;
    target = target.substr(start);
    auto end = target.find('/');
    out.push_back(target.substr(0, end));
    target = end == std::string_view::npos ? std::string_view{} : target.substr(end);
  }
  return out;
}

/// FNV-1a, 64 bits, mixed: the same on every node and every build, which std::hash is not.
std::uint64_t fnv1a(std::string_view a, std::string_view b) {
  constexpr std::uint64_t offset_basis = 14695981039346656037ull;
  constexpr std::uint64_t prime = 1099511628211ull;
  std::uint64_t h = offset_basis;
  auto feed = [&](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= prime;
    }
  };
  feed(a);
  feed(std::string_view("\0", 1)); // so that ("ab", "c") and ("a", "bc") differ
  feed(b);
  // FNV's last bytes barely reach its high bits: a finaliser (splitmix64's) spreads them,
  // so that each member wins its share of the keys.
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}

placement by_id(placement::kind k, std::string_view id) {
  return {k, std::string(id), owner_of_id(id)};
}

} // namespace

placement place(std::string_view method, std::string_view target) {
  auto s = segments(target);
  auto n = s.size();
  if (n >= 2 && s[0] == "r")
    return {placement::kind::run_owner, std::string(s[1]), owner_of_token(s[1])};
  if (n < 2 || s[0] != "v1")
    return {};
  if (n == 2 && s[1] == "cluster")
    return {placement::kind::cluster_info, {}, {}};
  if (n == 2 && s[1] == "runs" && method == "POST")
    return {placement::kind::create_run, {}, {}};
  if (n == 2 && s[1] == "templates" && method == "POST")
    return {placement::kind::create_template, {}, {}};
  if (n == 2 && (s[1] == "runs" || s[1] == "events" || s[1] == "endpoints") && method == "GET")
    return {placement::kind::list, std::string(s[1]), {}};
  if (n == 3 && s[1] == "endpoints" && s[2] == "recover" && method == "POST")
    return {placement::kind::recover, {}, {}};
  if (n >= 3 && s[1] == "runs")
    return by_id(placement::kind::run_owner, s[2]);
  if (n == 4 && s[1] == "events" && s[3] == "redeliver")
    return by_id(placement::kind::run_owner, s[2]);
  if (n == 3 && s[1] == "photos")
    return by_id(placement::kind::run_owner, s[2]);
  if (n == 3 && s[1] == "templates" && method == "GET")
    return by_id(placement::kind::template_id, s[2]);
  return {};
}

std::size_t key_owner(std::span<const std::string_view> member_ids, std::string_view key) {
  std::size_t best = 0;
  std::uint64_t best_weight = 0;
  for (std::size_t i = 0; i < member_ids.size(); ++i) {
    auto w = fnv1a(member_ids[i], key);
    // Ties (all but impossible) go to the smaller id, so that the order of the list never
    // matters.
    if (i == 0 || w > best_weight || (w == best_weight && member_ids[i] < member_ids[best])) {
      best = i;
      best_weight = w;
    }
  }
  return best;
}

} // namespace rundun::api
