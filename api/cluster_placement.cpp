#include "api/cluster_placement.hpp"

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

} // namespace rundun::api
