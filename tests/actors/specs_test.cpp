#include "actors/specs.hpp"

#define BOOST_TEST_MODULE specs
#include <boost/test/unit_test.hpp>

using namespace rundun;

namespace {

const auto t0 = from_unix_ms(1'779'438'720'000);

template_spec simple() {
  return {"Checkout", {{std::nullopt, "Kitchen", std::nullopt, std::nullopt}}};
}

std::string refusal(const template_spec& s) {
  return make_template(s, t0).error().message;
}

} // namespace

BOOST_AUTO_TEST_CASE(defaults_are_filled) {
  auto spec = simple();
  spec.steps.push_back({std::nullopt, "Notes", false, 2});
  auto t = make_template(spec, t0);
  BOOST_REQUIRE(t);
  BOOST_TEST(t->id.value.starts_with("t-"));
  BOOST_TEST(t->steps[0].id == "step-1");
  BOOST_TEST(t->steps[1].id == "step-2");
  BOOST_TEST(t->steps[0].required);
  BOOST_TEST(!t->steps[1].required);
  BOOST_TEST(t->steps[1].photos_required == 2);
}

BOOST_AUTO_TEST_CASE(each_template_field_is_checked_and_named) {
  auto s = simple();
  s.name = "";
  BOOST_TEST(refusal(s).starts_with("name must be 1 to 200"));
  s = simple();
  s.steps.clear();
  BOOST_TEST(refusal(s).starts_with("steps must have 1 to 200 items"));
  s = simple();
  s.steps.assign(201, s.steps[0]);
  BOOST_TEST(refusal(s).starts_with("steps must have 1 to 200 items, got 201"));
  s = simple();
  s.steps[0].id = "Bad Id";
  BOOST_TEST(refusal(s) == "steps[0].id must match [a-z0-9_-]{1,64}");
  s = simple();
  s.steps.push_back({"step-1", "Again", {}, {}});
  BOOST_TEST(refusal(s) == "steps[1].id 'step-1' is used by another step");
  s = simple();
  s.steps[0].title = std::string(201, 'x');
  BOOST_TEST(refusal(s).starts_with("steps[0].title must be 1 to 200 characters"));
  s = simple();
  s.steps[0].photos_required = 21;
  BOOST_TEST(refusal(s) == "steps[0].photos_required must be 0 to 20, got 21");
  s = simple();
  s.steps[0].title = std::string(200, 'x'); // 200 ASCII characters is fine
  BOOST_TEST(make_template(s, t0).has_value());
  s.steps[0].title = "";
  for (int i = 0; i < 200; ++i)
    s.steps[0].title += "é"; // 200 characters, 400 bytes
  BOOST_TEST(make_template(s, t0).has_value());
}

BOOST_AUTO_TEST_CASE(webhooks_are_checked) {
  BOOST_TEST(check_webhook({"ftp://x/", {}, {}}, false).error().message ==
             "webhook.url must use the http or https scheme");
  BOOST_TEST(
      check_webhook({"http://x/", std::vector<std::string>{"run.completed", "nope"}, {}}, false)
          .error()
          .message.starts_with("webhook.events[1] must be one of step.completed"));
  auto bad = check_webhook({"http://x/", {}, std::string("whsec_short")}, false);
  BOOST_TEST(bad.error().code == "invalid_secret");
  auto ok = check_webhook({"http://x/", std::vector<std::string>{}, {}}, false);
  BOOST_REQUIRE(ok);
  BOOST_TEST(ok->config.events.empty());
  BOOST_TEST(ok->secret_generated);
  BOOST_TEST(ok->config.secret.starts_with("whsec_"));
  auto all = check_webhook({"http://x/", {}, std::string("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")},
                           false);
  BOOST_TEST(all->config.events.size() == 5u);
  BOOST_TEST(!all->secret_generated);
}

BOOST_AUTO_TEST_CASE(runs_check_expiry_and_metadata) {
  auto t = *make_template(simple(), t0);
  run_spec spec{t.id, {}, 0, "{}"};
  BOOST_TEST((make_run(spec, t, t0)
                  .error()
                  .message.starts_with("expires_in_hours must be > 0 and <= 720")));
  spec.expires_in_hours = 720.5;
  BOOST_TEST(!make_run(spec, t, t0));
  spec.expires_in_hours = 0.5;
  auto r = make_run(spec, t, t0);
  BOOST_REQUIRE(r);
  BOOST_TEST((r->expires_at - r->created_at) == std::chrono::minutes{30});
  BOOST_TEST(r->token.size() >= 22u); // at least 128 bits
  spec.metadata_json = "{\"k\":\"" + std::string(16 * 1024, 'x') + "\"}";
  BOOST_TEST(make_run(spec, t, t0).error().message.starts_with("metadata must be at most 16384"));
}
