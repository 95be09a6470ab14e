#include "actors/message_types.hpp"

#include "actors/messages.hpp"
#include "actors/read_messages.hpp"
#include "actors/specs.hpp"

#define BOOST_TEST_MODULE message_types
#include <boost/test/unit_test.hpp>
#include <caf/all.hpp>

using namespace rundun;

namespace {

struct config : caf::actor_system_config {
  config() { register_message_types(*this); }
};

/// Serialises a message as a node would send it and reads it back.
caf::message round_trip(caf::actor_system& sys, const caf::message& in) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  auto msg = in;
  if (auto err = sink(msg))
    BOOST_FAIL("serialise: " + sys.render(err));
  caf::binary_deserializer source{sys, buf};
  caf::message out;
  if (auto err = source(out))
    BOOST_FAIL("deserialise: " + sys.render(err));
  return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(every_message_type_survives_the_wire) {
  config cfg;
  caf::actor_system sys{cfg};

  run_command cmd{{"r-1"}, run_action::answer, "kitchen", R"({"value":1})", {}, {}};
  auto m1 = round_trip(sys, caf::make_message(command_atom::value, cmd));
  BOOST_REQUIRE((m1.match_elements<command_atom, run_command>()));
  auto& c = m1.get_as<run_command>(1);
  BOOST_TEST(c.run.value == "r-1");
  BOOST_TEST((c.action == run_action::answer));
  BOOST_TEST(c.answer_json == R"({"value":1})");
  BOOST_TEST(!c.photo);
  BOOST_TEST(!c.reply_to); // the caller's callback stays on its node

  // A photo command carries the photo's record and bytes across.
  photo_record photo{{"p-1"}, {"r-1"}, "kitchen", "image/png", 4, 3, 2, 1, now()};
  run_command upload{{"r-1"},
                     run_action::add_photo,
                     "kitchen",
                     {},
                     std::make_shared<const photo_upload>(photo_upload{photo, "PNG", "JPG"}),
                     {}};
  auto m1b = round_trip(sys, caf::make_message(command_atom::value, upload));
  auto& u = m1b.get_as<run_command>(1);
  BOOST_REQUIRE(u.photo);
  BOOST_TEST(u.photo->record.id.value == "p-1");
  BOOST_TEST(u.photo->record.width == 4);
  BOOST_TEST(u.photo->bytes == "PNG");
  BOOST_TEST(u.photo->thumbnail_jpeg == "JPG");

  auto reply = command_reply::refusal({error_kind::conflict, "steps_missing", "m", {"a", "b"}});
  auto m2 = round_trip(sys, caf::make_message(reply));
  BOOST_REQUIRE(m2.match_elements<command_reply>());
  BOOST_TEST((m2.get_as<command_reply>(0).kind == error_kind::conflict));
  BOOST_TEST(m2.get_as<command_reply>(0).steps.size() == 2u);

  // A success carries the run itself; off the node it travels encoded, and comes back whole.
  template_record tmpl{{"t-1"}, "n", {{"a", "A", true, 1}}, now()};
  auto run = make_run({tmpl.id, {}, 1, R"({"k":1})"}, tmpl, now());
  BOOST_REQUIRE(run);
  auto m2b = round_trip(sys, caf::make_message(command_reply::success(*run)));
  BOOST_REQUIRE(m2b.match_elements<command_reply>());
  auto& back = m2b.get_as<command_reply>(0);
  BOOST_TEST(back.ok);
  BOOST_TEST(back.run.id.value == run->id.value);
  BOOST_TEST(back.run.token == run->token);
  BOOST_TEST(back.run.steps.size() == 1u);
  BOOST_TEST(back.run.steps[0].def.photos_required == 1);

  delivery_order order{"ep",      "http://x/",
                       {"evt-1"}, {"r-1"},
                       7,         event_type::run_completed,
                       123,       std::make_shared<const std::string>("{}"),
                       "whsec_x", 41};
  auto m3 = round_trip(sys, caf::make_message(deliver_atom::value, order));
  BOOST_REQUIRE((m3.match_elements<deliver_atom, delivery_order>()));
  BOOST_TEST(m3.get_as<delivery_order>(1).seq == 7u);
  BOOST_TEST(m3.get_as<delivery_order>(1).secret == "whsec_x");
  BOOST_TEST(*m3.get_as<delivery_order>(1).data == "{}");
  BOOST_TEST(m3.get_as<delivery_order>(1).commit == 41u);
  BOOST_TEST((m3.get_as<delivery_order>(1).type == event_type::run_completed));

  persistence::delivery_change change;
  auto& before = change.before;
  before.id = event_id{"evt-1"};
  before.run = run_id{"run-1"};
  before.type = event_type::step_skipped;
  before.created_at = from_unix_ms(1'700'000'000'000);
  before.seq = 12;
  before.endpoint = "http://example.com/hook";
  before.delivery.next_attempt_at = from_unix_ms(1'700'000'000'500);
  change.step.status = delivery_status::pending;
  change.step.next_attempt_at = from_unix_ms(1'700'000'030'500);
  change.step.round_failures = 2;
  change.step.attempt =
      attempt_record{2, from_unix_ms(1'700'000'000'400), 503, "http status 503", 15};
  attempt_report rep;
  rep.event = before.id;
  rep.attempt = 2;
  rep.status = 503;
  rep.verdict = 1;
  rep.retry_at_ms = 1'700'000'030'500;
  rep.round_failures = 2;
  rep.reason = "http status 503";
  rep.result = std::make_shared<const persistence::delivery_change>(change);
  auto m4 = round_trip(sys, caf::make_message(attempt_atom::value, rep));
  BOOST_REQUIRE((m4.match_elements<attempt_atom, attempt_report>()));
  auto& report = m4.get_as<attempt_report>(1);
  BOOST_TEST(report.retry_at_ms == 1'700'000'030'500);
  BOOST_TEST(report.round_failures == 2);
  BOOST_TEST(report.reason == "http status 503");
  BOOST_REQUIRE(report.result);
  auto& stored = report.result->before;
  BOOST_TEST(stored.id.value == before.id.value);
  BOOST_TEST(stored.run.value == before.run.value);
  BOOST_TEST((stored.type == event_type::step_skipped));
  BOOST_TEST(stored.seq == 12u);
  BOOST_TEST(stored.endpoint == before.endpoint);
  BOOST_TEST(to_unix_ms(stored.created_at) == 1'700'000'000'000);
  BOOST_REQUIRE(stored.delivery.next_attempt_at);
  BOOST_TEST(to_unix_ms(*stored.delivery.next_attempt_at) == 1'700'000'000'500);
  BOOST_TEST(persistence::encode(report.result->step) == persistence::encode(change.step));

  auto m5 =
      round_trip(sys, caf::make_message(redeliver_reply{refusal_kind::webhook_disabled, "m"}));
  BOOST_REQUIRE(m5.match_elements<redeliver_reply>());
  BOOST_TEST((m5.get_as<redeliver_reply>(0).refused == refusal_kind::webhook_disabled));
  BOOST_TEST(to_code(refusal_kind::webhook_disabled) == "webhook_disabled");

  auto m6 = round_trip(sys, caf::make_message(recover_reply{refusal_kind::none, "", 40, 2}));
  BOOST_REQUIRE(m6.match_elements<recover_reply>());
  BOOST_TEST(m6.get_as<recover_reply>(0).recovering == 40u);
  BOOST_TEST(m6.get_as<recover_reply>(0).skipped_webhook_disabled == 2u);
  auto m6b = round_trip(sys, caf::make_message(recover_atom::value, std::string("ep"),
                                               std::string("https://h/"), std::int64_t{1000}));
  BOOST_TEST((m6b.match_elements<recover_atom, std::string, std::string, std::int64_t>()));
  recovery_counted page{3, "", false, 1024, 7, true, 1700, "evt-9"};
  auto m6c = round_trip(sys, caf::make_message(recover_atom::value, page));
  BOOST_REQUIRE((m6c.match_elements<recover_atom, recovery_counted>()));
  BOOST_TEST(m6c.get_as<recovery_counted>(1).skipped_webhook_disabled == 7u);
  BOOST_TEST(m6c.get_as<recovery_counted>(1).next_id == "evt-9");
  recovery_stepped stepped{recovery_stepped::outcome::write_failed, "disk full"};
  auto m6d = round_trip(sys, caf::make_message(recover_atom::value, stepped));
  BOOST_REQUIRE((m6d.match_elements<recover_atom, recovery_stepped>()));
  BOOST_TEST((m6d.get_as<recovery_stepped>(1).what == recovery_stepped::outcome::write_failed));
  BOOST_TEST(m6d.get_as<recovery_stepped>(1).failure == "disk full");

  auto m7 = round_trip(sys, caf::make_message(committed_atom::value, std::uint64_t{5}, true));
  BOOST_TEST((m7.match_elements<committed_atom, std::uint64_t, bool>()));

  // The cluster's queries (tests/actors/cluster_test.cpp sends them between two nodes too).
  auto m8 = round_trip(sys, caf::make_message(read_request{read_kind::events, "r-1", ""}));
  BOOST_REQUIRE(m8.match_elements<read_request>());
  BOOST_TEST((m8.get_as<read_request>(0).kind == read_kind::events));
  read_answer refused{"node_unavailable", error_kind::unavailable, "m", {}, {}, {}};
  auto m9 = round_trip(sys, caf::make_message(refused));
  BOOST_REQUIRE(m9.match_elements<read_answer>());
  BOOST_TEST((m9.get_as<read_answer>(0).error == error_kind::unavailable));
}
