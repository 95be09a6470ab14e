#include "net/webhook_verifier.hpp"

#include "tests/support/vectors.hpp"

#define BOOST_TEST_MODULE webhook_verifier
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

using namespace rundun::net;
using namespace std::chrono_literals;

namespace rundun::net {
std::ostream& operator<<(std::ostream& os, verify_failure f) {
  return os << to_string(f);
}
} // namespace rundun::net

namespace {

std::chrono::system_clock::time_point at(std::int64_t unix_seconds) {
  return std::chrono::system_clock::time_point{std::chrono::seconds{unix_seconds}};
}

constexpr auto secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr auto id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr auto ts = "1614265330";
constexpr std::int64_t ts_value = 1614265330;
constexpr auto body = "{\"test\": 2432232314}";
constexpr auto good = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

} // namespace

BOOST_AUTO_TEST_CASE(every_standard_webhooks_vector_verifies) {
  auto vectors = rundun::test::standard_webhooks_vectors();
  BOOST_REQUIRE_GE(vectors.size(), 9u);
  for (auto& v : vectors) {
    auto& o = v.as_object();
    auto verifier = webhook_verifier::from_secret(std::string(o.at("secret").as_string()));
    BOOST_REQUIRE(verifier);
    auto t = o.at("timestamp").to_number<std::int64_t>();
    auto failure = verifier->verify(std::string(o.at("msg_id").as_string()), std::to_string(t),
                                    std::string(o.at("signature").as_string()),
                                    std::string(o.at("payload").as_string()), at(t));
    BOOST_TEST(!failure, "vector " << o.at("msg_id"));
  }
}

BOOST_AUTO_TEST_CASE(a_changed_body_id_or_timestamp_does_not_verify) {
  auto v = *webhook_verifier::from_secret(secret);
  BOOST_TEST(!v.verify(id, ts, good, body, at(ts_value)));
  BOOST_TEST(*v.verify(id, ts, good, "{\"test\": 2432232315}", at(ts_value)) ==
             verify_failure::no_valid_signature);
  BOOST_TEST(*v.verify("msg_other", ts, good, body, at(ts_value)) ==
             verify_failure::no_valid_signature);
  BOOST_TEST(*v.verify(id, "1614265331", good, body, at(ts_value)) ==
             verify_failure::no_valid_signature);
  auto other = *webhook_verifier::from_secret("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD");
  BOOST_TEST(*other.verify(id, ts, good, body, at(ts_value)) == verify_failure::no_valid_signature);
}

BOOST_AUTO_TEST_CASE(timestamps_outside_five_minutes_are_refused_as_replays) {
  auto v = *webhook_verifier::from_secret(secret);
  BOOST_TEST(!v.verify(id, ts, good, body, at(ts_value + 300)));
  BOOST_TEST(*v.verify(id, ts, good, body, at(ts_value + 301)) ==
             verify_failure::timestamp_too_old);
  BOOST_TEST(!v.verify(id, ts, good, body, at(ts_value - 300)));
  BOOST_TEST(*v.verify(id, ts, good, body, at(ts_value - 301)) ==
             verify_failure::timestamp_too_new);
  BOOST_TEST(*v.verify(id, "16142x5330", good, body, at(ts_value)) ==
             verify_failure::bad_timestamp);
  BOOST_TEST(*v.verify(id, "", good, body, at(ts_value)) == verify_failure::missing_header);
  BOOST_TEST(*v.verify("", ts, good, body, at(ts_value)) == verify_failure::missing_header);
  BOOST_TEST(*v.verify(id, ts, "", body, at(ts_value)) == verify_failure::missing_header);
}

BOOST_AUTO_TEST_CASE(any_one_of_several_signatures_may_match) {
  auto v = *webhook_verifier::from_secret(secret);
  auto rotated =
      std::string("v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= v1a,whatever ") + good;
  BOOST_TEST(!v.verify(id, ts, rotated, body, at(ts_value)));
  // A v1a signature with the right bytes is not a v1 signature.
  auto other_version = "v1a," + std::string(good).substr(3);
  BOOST_TEST(*v.verify(id, ts, other_version, body, at(ts_value)) ==
             verify_failure::no_valid_signature);
}

BOOST_AUTO_TEST_CASE(secrets_not_in_the_whsec_form_make_no_verifier) {
  BOOST_TEST(!webhook_verifier::from_secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
  BOOST_TEST(!webhook_verifier::from_secret("whsec_not base64!"));
  BOOST_TEST(!webhook_verifier::from_secret("whsec_c2hvcnQ=")); // 5 bytes: too short
}
