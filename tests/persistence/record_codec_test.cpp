#include "persistence/record_codec.hpp"

#define BOOST_TEST_MODULE record_codec
#include <boost/test/unit_test.hpp>

using namespace rundun;

namespace {

run_record sample_run() {
  run_record r;
  r.id = {"r-1"};
  r.source_template = {"t-1"};
  r.template_name = "Checkout";
  r.token = "tok";
  r.created_at = from_unix_ms(1000);
  r.expires_at = from_unix_ms(2000);
  r.metadata_json = R"({"booking":"B-1"})";
  step_state s;
  s.def = {"kitchen", "Kitchen", true, 1};
  s.status = step_status::completed;
  s.answer_json = R"({"value":3})";
  s.photos = {"p-1"};
  s.completed_at = from_unix_ms(1500);
  r.steps.push_back(s);
  r.steps.push_back({{"notes", "Notes", false, 0}, step_status::pending, {}, {}, {}, {}});
  r.webhook = webhook_config{"http://x/h", {event_type::run_completed}, "whsec_abc"};
  return r;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_run_round_trips) {
  auto r = sample_run();
  r.status = run_status::cancelled;
  r.ended_at = from_unix_ms(1800);
  r.cancelled_by = cancel_reason::executor_exit;
  auto back = decode_run(encode(r));
  BOOST_REQUIRE(back);
  BOOST_TEST(back->id.value == "r-1");
  BOOST_TEST((back->status == run_status::cancelled));
  BOOST_TEST((back->cancelled_by == cancel_reason::executor_exit));
  BOOST_TEST((to_unix_ms(*back->ended_at) == 1800));
  BOOST_TEST(back->metadata_json == r.metadata_json);
  BOOST_TEST(back->steps.size() == 2u);
  BOOST_TEST(back->steps[0].answer_json == R"({"value":3})");
  BOOST_TEST(back->steps[0].photos.size() == 1u);
  BOOST_TEST(!back->steps[1].completed_at);
  BOOST_TEST(back->webhook->secret == "whsec_abc");
  BOOST_TEST(back->webhook->subscribes_to(event_type::run_completed));
  BOOST_TEST(!back->webhook->subscribes_to(event_type::step_completed));
}

BOOST_AUTO_TEST_CASE(a_run_stored_as_spec_and_state_round_trips) {
  auto r = sample_run();
  auto spec = encode_run_spec(r);
  auto state = encode_run_state(r);
  // The state, rewritten by every command, carries none of the spec's bulk.
  BOOST_TEST(state.find("B-1") == std::string::npos);
  BOOST_TEST(state.find("whsec_abc") == std::string::npos);
  BOOST_TEST(state.find("Kitchen") == std::string::npos);
  auto back = decode_run(spec, state);
  BOOST_REQUIRE(back);
  BOOST_TEST(encode(*back) == encode(r));
  // A state from a later command goes with the same spec.
  r.steps[1].status = step_status::skipped;
  r.steps[1].skipped_at = from_unix_ms(1900);
  back = decode_run(spec, encode_run_state(r));
  BOOST_REQUIRE(back);
  BOOST_TEST(encode(*back) == encode(r));
}

BOOST_AUTO_TEST_CASE(a_state_that_does_not_fit_its_spec_does_not_decode) {
  auto r = sample_run();
  auto spec = encode_run_spec(r);
  r.steps.pop_back();
  BOOST_TEST(!decode_run(spec, encode_run_state(r)));
  BOOST_TEST(!decode_run(spec, "not json"));
}

BOOST_AUTO_TEST_CASE(an_event_round_trips_with_its_attempts) {
  event_record e;
  e.id = {"evt-1"};
  e.run = {"r-1"};
  e.type = event_type::step_skipped;
  e.created_at = from_unix_ms(10);
  e.seq = 42;
  e.endpoint = "abc";
  e.delivery.status = delivery_status::pending;
  e.delivery.round_failures = 2;
  e.delivery.next_attempt_at = from_unix_ms(99);
  e.delivery.attempts.push_back({1, from_unix_ms(11), 500, std::nullopt, 7});
  e.delivery.attempts.push_back({2, from_unix_ms(12), std::nullopt, "timeout", 10000});
  auto back = decode_event(encode(e));
  BOOST_REQUIRE(back);
  BOOST_TEST(back->seq == 42u);
  BOOST_TEST((back->type == event_type::step_skipped));
  BOOST_TEST(back->delivery.round_failures == 2);
  BOOST_TEST((to_unix_ms(*back->delivery.next_attempt_at) == 99));
  BOOST_TEST((back->delivery.attempts.size() == 2u));
  BOOST_TEST((*back->delivery.attempts[0].status_code == 500));
  BOOST_TEST((*back->delivery.attempts[1].error == "timeout"));
}

BOOST_AUTO_TEST_CASE(garbage_does_not_decode) {
  BOOST_TEST(!decode_run("not json"));
  BOOST_TEST(!decode_run("{}"));
  BOOST_TEST(!decode_event("[1,2]"));
  BOOST_TEST(!decode_template(R"({"id":"t"})"));
}

BOOST_AUTO_TEST_CASE(times_format_as_rfc_3339_utc) {
  BOOST_TEST((format_rfc3339(from_unix_ms(1779438720000)) == "2026-05-22T08:32:00Z"));
  BOOST_TEST((format_rfc3339(from_unix_ms(1779438720250)) == "2026-05-22T08:32:00.250Z"));
}
