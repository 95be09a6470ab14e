#include "actors/run_logic.hpp"

#define BOOST_TEST_MODULE run_logic
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

using namespace rundun;

namespace {

const auto t0 = from_unix_ms(1'779'438'720'000); // 2026-05-22T08:32:00Z

run_record make_run() {
  run_record r;
  r.id = {"r-1"};
  r.source_template = {"t-1"};
  r.created_at = t0;
  r.expires_at = t0 + std::chrono::hours{1};
  r.metadata_json = R"({"booking":"B-1234"})";
  r.steps.push_back(
      {{"kitchen", "Kitchen is clean", true, 0}, step_status::pending, {}, {}, {}, {}});
  r.steps.push_back(
      {{"notes", "Anything broken?", false, 0}, step_status::pending, {}, {}, {}, {}});
  r.steps.push_back(
      {{"photo", "Photo of the door", true, 1}, step_status::pending, {}, {}, {}, {}});
  return r;
}

boost::json::object data_of(const new_event& e) {
  return boost::json::parse(e.data_json).as_object();
}

} // namespace

BOOST_AUTO_TEST_CASE(answering_a_step_completes_it_and_fires_step_completed) {
  auto r = make_run();
  auto t = answer_step(r, "kitchen", R"({"value":true,"note":"spotless"})", t0);
  BOOST_REQUIRE(t);
  BOOST_REQUIRE(t->size() == 1u);
  BOOST_TEST(((*t)[0].type == event_type::step_completed));
  BOOST_TEST((r.steps[0].status == step_status::completed));
  auto d = data_of((*t)[0]);
  BOOST_TEST((d.at("step").at("id").as_string() == "kitchen"));
  BOOST_TEST(d.at("step").at("required").as_bool());
  BOOST_TEST(d.at("answer").at("value").as_bool());
  BOOST_TEST((d.at("answer").at("note").as_string() == "spotless"));
  BOOST_TEST((d.at("completed_at").as_string() == "2026-05-22T08:32:00Z"));
  BOOST_TEST((d.at("metadata").at("booking").as_string() == "B-1234"));
  BOOST_TEST((d.at("template_id").as_string() == "t-1"));
  BOOST_TEST(d.at("photos").as_array().empty());
}

BOOST_AUTO_TEST_CASE(answering_twice_is_refused) {
  auto r = make_run();
  BOOST_REQUIRE(answer_step(r, "kitchen", "{}", t0));
  auto again = answer_step(r, "kitchen", "{}", t0);
  BOOST_REQUIRE(!again);
  BOOST_TEST(again.error().code == "step_not_pending");
  BOOST_TEST((again.error().kind == error_kind::conflict));
}

BOOST_AUTO_TEST_CASE(a_step_without_its_photos_cannot_be_answered) {
  auto r = make_run();
  auto t = answer_step(r, "photo", "{}", t0);
  BOOST_REQUIRE(!t);
  BOOST_TEST(t.error().code == "photos_missing");
  BOOST_TEST((r.steps[2].status == step_status::pending));
}

BOOST_AUTO_TEST_CASE(an_unknown_step_is_not_found) {
  auto r = make_run();
  auto t = skip_step(r, "nope", t0);
  BOOST_REQUIRE(!t);
  BOOST_TEST((t.error().kind == error_kind::not_found));
  BOOST_TEST(t.error().code == "step_not_found");
}

BOOST_AUTO_TEST_CASE(skipping_a_required_step_is_rejected) {
  auto r = make_run();
  auto t = skip_step(r, "kitchen", t0);
  BOOST_REQUIRE(!t);
  BOOST_TEST(t.error().code == "step_required");
}

BOOST_AUTO_TEST_CASE(skipping_an_optional_step_fires_step_skipped) {
  auto r = make_run();
  auto t = skip_step(r, "notes", t0);
  BOOST_REQUIRE(t);
  BOOST_TEST(((*t)[0].type == event_type::step_skipped));
  BOOST_TEST((data_of((*t)[0]).at("skipped_at").as_string() == "2026-05-22T08:32:00Z"));
}

BOOST_AUTO_TEST_CASE(submitting_with_required_steps_missing_lists_them) {
  auto r = make_run();
  BOOST_REQUIRE(answer_step(r, "kitchen", "{}", t0));
  auto t = submit_run(r, t0);
  BOOST_REQUIRE(!t);
  BOOST_TEST(t.error().code == "steps_missing");
  BOOST_TEST(t.error().steps == std::vector<std::string>{"photo"});
  BOOST_TEST(r.active());
}

BOOST_AUTO_TEST_CASE(submitting_a_complete_run_completes_it) {
  auto r = make_run();
  r.steps[2].photos = {"p-1"};
  BOOST_REQUIRE(answer_step(r, "kitchen", "{}", t0));
  BOOST_REQUIRE(answer_step(r, "photo", "{}", t0));
  auto t = submit_run(r, t0 + std::chrono::seconds{5});
  BOOST_REQUIRE(t);
  BOOST_TEST((r.status == run_status::completed));
  auto d = data_of((*t)[0]);
  BOOST_TEST((d.at("completed_at").as_string() == "2026-05-22T08:32:05Z"));
  BOOST_TEST((d.at("steps").as_array().size() == 3u));
  BOOST_TEST((d.at("steps").at(1).at("status").as_string() == "pending"));
}

BOOST_AUTO_TEST_CASE(exit_cancels_with_the_executor_reason) {
  auto r = make_run();
  auto t = cancel_run(r, cancel_reason::executor_exit, t0);
  BOOST_REQUIRE(t);
  BOOST_TEST((r.status == run_status::cancelled));
  BOOST_TEST((data_of((*t)[0]).at("reason").as_string() == "executor_exit"));
}

BOOST_AUTO_TEST_CASE(actions_on_an_ended_run_are_refused) {
  auto r = make_run();
  BOOST_REQUIRE(cancel_run(r, cancel_reason::api, t0));
  auto t = answer_step(r, "kitchen", "{}", t0);
  BOOST_TEST(t.error().code == "run_not_active");
  BOOST_TEST((t.error().kind == error_kind::conflict));
  BOOST_TEST((cancel_run(r, cancel_reason::api, t0).error().code == "run_not_active"));
}

BOOST_AUTO_TEST_CASE(expiry_uses_expires_at_and_links_answer_gone) {
  auto r = make_run();
  BOOST_TEST(!expiry_due(r, t0));
  BOOST_TEST(expiry_due(r, r.expires_at));
  auto t = expire_run(r);
  BOOST_REQUIRE(t);
  BOOST_TEST((r.status == run_status::expired));
  BOOST_TEST((r.ended_at == r.expires_at));
  BOOST_TEST((data_of((*t)[0]).at("expired_at").as_string() == "2026-05-22T09:32:00Z"));
  auto after = skip_step(r, "notes", t0);
  BOOST_TEST((after.error().kind == error_kind::gone));
  BOOST_TEST(after.error().code == "link_expired");
  // The API's cancel of an expired run is a plain conflict.
  BOOST_TEST((cancel_run(r, cancel_reason::api, t0).error().code == "run_not_active"));
  BOOST_TEST((cancel_run(r, cancel_reason::api, t0).error().kind == error_kind::conflict));
}
