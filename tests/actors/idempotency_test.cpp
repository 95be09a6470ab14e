#include "actors/idempotency.hpp"

#define BOOST_TEST_MODULE idempotency
#include <boost/test/unit_test.hpp>

using namespace rundun;
using namespace std::chrono_literals;

namespace {

idempotency_record stored(keyed_route route, std::string fingerprint, time_point at) {
  return {"k-1", route, std::move(fingerprint), at, false, "{}"};
}

run_spec a_run() {
  return {template_id{"t-1"}, webhook_spec{"https://example.com/h", std::nullopt, std::nullopt}, 24,
          R"({"b":1})"};
}

} // namespace

BOOST_AUTO_TEST_CASE(a_key_is_1_to_255_printable_ascii_characters) {
  BOOST_TEST(!check_idempotency_key("a"));
  BOOST_TEST(!check_idempotency_key("order 1234 / retry ~ok"));
  BOOST_TEST(!check_idempotency_key(std::string(255, 'x')));
  for (std::string bad : {std::string(), std::string(256, 'x'), std::string("tab\there"),
                          std::string("caf\xc3\xa9"), std::string("nul\0x", 5)}) {
    auto e = check_idempotency_key(bad);
    BOOST_REQUIRE(e);
    BOOST_TEST(e->code == "invalid_idempotency_key");
    BOOST_TEST(e->message.find("Idempotency-Key") != std::string::npos);
    BOOST_TEST((e->kind == error_kind::invalid_input));
  }
}

BOOST_AUTO_TEST_CASE(a_fingerprint_tells_route_and_body_bytes_apart) {
  auto a = request_fingerprint(keyed_route::runs, R"({"template_id":"t-1"})");
  BOOST_TEST(a == request_fingerprint(keyed_route::runs, R"({"template_id":"t-1"})"));
  BOOST_TEST(a.size() == 32u);
  BOOST_TEST(a != request_fingerprint(keyed_route::templates, R"({"template_id":"t-1"})"));
  // The contract compares body bytes: the same JSON spelled otherwise is another body.
  BOOST_TEST(a != request_fingerprint(keyed_route::runs, R"({ "template_id":"t-1"})"));
}

BOOST_AUTO_TEST_CASE(a_spec_fingerprint_changes_with_every_field) {
  auto base = spec_fingerprint(a_run());
  BOOST_TEST(base == spec_fingerprint(a_run()));
  auto other = a_run();
  other.metadata_json = R"({"b":2})";
  BOOST_TEST(base != spec_fingerprint(other));
  other = a_run();
  other.webhook->secret = "whsec_x";
  BOOST_TEST(base != spec_fingerprint(other));
  other = a_run();
  other.webhook->events = std::vector<std::string>{};
  BOOST_TEST(base != spec_fingerprint(other));
  other = a_run();
  other.webhook.reset();
  BOOST_TEST(base != spec_fingerprint(other));

  template_spec t{"Checkout", {{std::string("a"), "A", std::nullopt, std::nullopt}}};
  auto tf = spec_fingerprint(t);
  t.steps[0].required = true; // the default, but given: another spec
  BOOST_TEST(tf != spec_fingerprint(t));
}

BOOST_AUTO_TEST_CASE(a_stored_key_replays_the_same_request_and_refuses_another) {
  auto at = from_unix_ms(1'800'000'000'000);
  auto fp = request_fingerprint(keyed_route::runs, "{}");
  auto rec = stored(keyed_route::runs, fp, at);
  BOOST_TEST((judge(std::nullopt, keyed_route::runs, fp, at) == key_verdict::fresh));
  BOOST_TEST((judge(rec, keyed_route::runs, fp, at + 1h) == key_verdict::replay));
  BOOST_TEST((judge(rec, keyed_route::runs, "other", at + 1h) == key_verdict::reused));
  BOOST_TEST((judge(rec, keyed_route::templates, fp, at + 1h) == key_verdict::reused));
  // 24 hours on, the key is free again.
  BOOST_TEST((judge(rec, keyed_route::runs, fp, at + 24h - 1ms) == key_verdict::replay));
  BOOST_TEST((judge(rec, keyed_route::runs, "other", at + 24h) == key_verdict::fresh));

  auto reused = key_reused("k-1", keyed_route::templates, keyed_route::runs);
  BOOST_TEST(reused.code == "idempotency_key_reused");
  BOOST_TEST(reused.message.find("POST /v1/templates") != std::string::npos);
  BOOST_TEST(key_in_progress("k-1").code == "idempotency_key_in_progress");
}

BOOST_AUTO_TEST_CASE(a_key_in_progress_is_held_by_one_request_at_a_time) {
  keys_in_progress keys;
  BOOST_TEST(keys.claim("a"));
  BOOST_TEST(!keys.claim("a"));
  BOOST_TEST(keys.claim("b"));
  BOOST_TEST(keys.size() == 2u);
  keys.release("a");
  BOOST_TEST(keys.claim("a"));
}

BOOST_AUTO_TEST_CASE(a_key_record_survives_its_encoding) {
  idempotency_record r{"key with spaces",
                       keyed_route::runs,
                       request_fingerprint(keyed_route::runs, "{}"),
                       from_unix_ms(1'800'000'000'123),
                       true,
                       R"({"id":"r-1"})"};
  auto back = decode_idempotency(r.key, encode_value(r));
  BOOST_REQUIRE(back);
  BOOST_TEST(back->key == r.key);
  BOOST_TEST((back->route == r.route));
  BOOST_TEST(back->fingerprint == r.fingerprint);
  BOOST_TEST((back->created_at == r.created_at));
  BOOST_TEST(back->secret_generated);
  BOOST_TEST(back->created == r.created);
  BOOST_TEST(!decode_idempotency("k", ""));
  BOOST_TEST(!decode_idempotency("k", std::string("\x01\x07\x00", 3) + std::string(9, '\0')));
  auto cut = encode_value(r);
  cut.resize(14);
  BOOST_TEST(!decode_idempotency("k", cut));
}

BOOST_AUTO_TEST_CASE(a_long_caller_fingerprint_is_hashed_to_fit_the_record) {
  std::string body(300, 'b');
  auto stored = caller_fingerprint(keyed_route::runs, body);
  BOOST_TEST(stored.size() == 32u);
  BOOST_TEST(stored == caller_fingerprint(keyed_route::runs, body));
  BOOST_TEST(caller_fingerprint(keyed_route::runs, "short") == "short");
  idempotency_record r{"k", keyed_route::runs, stored, from_unix_ms(1), false, "{}"};
  BOOST_TEST(decode_idempotency("k", encode_value(r))->fingerprint == stored);
  auto a = a_run(), b = a_run();
  b.expires_in_hours = a.expires_in_hours + 1e-9;
  BOOST_TEST(spec_fingerprint(a) != spec_fingerprint(b));
}
