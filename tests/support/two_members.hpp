#pragma once

// Two cluster members, `a` and `b`, on free loopback ports: for tests that start two nodes in
// one process.

#include "actors/cluster_members.hpp"
#include "tests/support/http_call.hpp"

#include <string>
#include <variant>
#include <vector>

namespace rundun::test {

inline std::vector<cluster::member> two_members() {
  auto list =
      "a=127.0.0.1:" + std::to_string(free_port()) + ",b=127.0.0.1:" + std::to_string(free_port());
  return std::get<std::vector<cluster::member>>(cluster::parse_members(list, "a"));
}

} // namespace rundun::test
