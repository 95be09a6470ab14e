#pragma once

#include <fstream>
#include <sstream>

#include <boost/json.hpp>

namespace rundun::test {

/// The Standard Webhooks test vectors (tests/data/standard-webhooks.json, copied from the
/// team's shared vectors): secret, msg_id, timestamp, payload and the expected signature.
inline boost::json::array standard_webhooks_vectors() {
  std::ifstream in{RUNDUN_TEST_DATA "/standard-webhooks.json"};
  std::stringstream ss;
  ss << in.rdbuf();
  return boost::json::parse(ss.str()).as_array();
}

} // namespace rundun::test
