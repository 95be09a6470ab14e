#include "actors/recovery_plan.hpp"

#define BOOST_TEST_MODULE recovery_plan
#include <boost/test/unit_test.hpp>

using namespace rundun;

namespace {

std::vector<std::pair<list_position, event_record>> failed(std::initializer_list<int> runs) {
  std::vector<std::pair<list_position, event_record>> out;
  int i = 0;
  for (int run : runs) {
    event_record e;
    e.id = {"evt-" + std::to_string(++i)};
    e.run = {"r-" + std::to_string(run)};
    out.push_back({{1000 + i, e.id.value}, e});
  }
  return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_full_step_goes_on_from_its_last_event_and_passes_over_runs_turned_off) {
  recovery_job job{500, std::nullopt, 10};
  auto step = plan_recovery_step(job, failed({1, 2, 1, 3}), 4,
                                 [](const run_id& r) { return r.value == "r-2"; });
  BOOST_TEST(step.send.size() == 3u);
  BOOST_TEST(step.send[1].value == "evt-3");
  BOOST_REQUIRE(step.job_after);
  BOOST_TEST(step.job_after->since_ms == 500);
  BOOST_TEST(step.job_after->marked_up_to->id == "evt-4");
  BOOST_TEST(step.job_after->remaining == 7u);
}

BOOST_AUTO_TEST_CASE(a_short_read_ends_the_job) {
  recovery_job job{500, list_position{900, "evt-0"}, 2};
  auto step = plan_recovery_step(job, failed({1, 1}), 4, [](const run_id&) { return false; });
  BOOST_TEST(step.send.size() == 2u);
  BOOST_TEST(!step.job_after);
  BOOST_TEST(plan_recovery_step(job, {}, 4, [](const run_id&) { return false; }).send.empty());
}

BOOST_AUTO_TEST_CASE(a_recovery_runs_while_its_job_is_stored_or_its_marked_events_wait) {
  endpoint_stats idle;
  BOOST_TEST(!recovery_running(false, idle));
  BOOST_TEST(recovery_running(true, idle)); // still marking
  endpoint_stats waiting;
  waiting.pending = 3;
  waiting.recovering = 2;
  BOOST_TEST(recovery_running(false, waiting)); // marked, not yet attempted
  waiting.recovering = 0;
  BOOST_TEST(!recovery_running(false, waiting)); // pending, but not a recovery's
  // A mark with nothing waiting is one left behind: it holds nothing.
  endpoint_stats stale;
  stale.recovering = 1;
  BOOST_TEST(!recovery_running(false, stale));
}
