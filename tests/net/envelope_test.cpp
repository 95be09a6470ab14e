#include "net/envelope.hpp"

#define BOOST_TEST_MODULE envelope
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

using namespace rundun::net;

BOOST_AUTO_TEST_CASE(carries_the_contracted_fields_and_splices_the_data) {
  auto body = encode_envelope({"step.completed", "evt-1", 3, "r-1", "2026-05-22T08:32:00Z",
                               R"({"step":{"id":"kitchen"},"note":"a \"quote\""})"});
  auto v = boost::json::parse(body).as_object();
  BOOST_TEST((v.at("event").as_string() == "step.completed"));
  BOOST_TEST((v.at("event_id").as_string() == "evt-1"));
  BOOST_TEST((v.at("delivery_attempt").as_int64() == 3));
  BOOST_TEST((v.at("run_id").as_string() == "r-1"));
  BOOST_TEST((v.at("created_at").as_string() == "2026-05-22T08:32:00Z"));
  BOOST_TEST((v.at("data").at("note").as_string() == "a \"quote\""));
  BOOST_TEST(v.size() == 6u);
}

BOOST_AUTO_TEST_CASE(escapes_string_fields) {
  auto body = encode_envelope({"run.expired", "evt-\"x\"", 1, "r-\\", "t", "{}"});
  auto v = boost::json::parse(body).as_object();
  BOOST_TEST((v.at("event_id").as_string() == "evt-\"x\""));
  BOOST_TEST((v.at("run_id").as_string() == "r-\\"));
}

BOOST_AUTO_TEST_CASE(the_user_agent_names_the_product) {
  BOOST_TEST(user_agent().starts_with("Rundun-Webhooks/"));
}

BOOST_AUTO_TEST_CASE(a_template_gives_each_attempt_the_same_body_but_its_number) {
  envelope_fields f{"step.skipped", "evt-2", 0, "r-2", "2026-05-22T08:32:00Z", R"({"a":[1,2]})"};
  envelope_template once{f};
  for (int attempt : {1, 2, 6, 10, 123}) {
    f.delivery_attempt = attempt;
    BOOST_TEST(once.body(attempt) == encode_envelope(f));
    auto v = boost::json::parse(once.body(attempt)).as_object();
    BOOST_TEST((v.at("delivery_attempt").as_int64() == attempt));
  }
}
