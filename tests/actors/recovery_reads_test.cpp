#include "actors/recovery_reads.hpp"

#include "tests/support/server_process.hpp"

#define BOOST_TEST_MODULE recovery_reads
#include <boost/test/unit_test.hpp>

using namespace rundun;
using namespace rundun::persistence;

namespace {

/// A store with failed events of `ep1`: runs r-1 and r-2 (r-2's webhook answered 410),
/// created at 1001..1006 in the order r-1, r-2, r-1, r-2, r-1, r-1; and one delivered event.
struct fixture {
  test::temp_dir dir;
  std::unique_ptr<store> s = std::move(*store::open(dir.path()));

  fixture() {
    write([](write_batch& b) -> boost::system::error_code {
      for (auto id : {"r-1", "r-2"}) {
        run_record r;
        r.id = {id};
        r.source_template = {"t-1"};
        r.token = std::string("token-") + id;
        r.created_at = from_unix_ms(900);
        r.expires_at = from_unix_ms(100'000);
        if (auto ec = b.put_run(r))
          return ec;
      }
      if (auto ec = b.disable_webhook({"r-2"}))
        return ec;
      const char* runs[] = {"r-1", "r-2", "r-1", "r-2", "r-1", "r-1", "r-1"};
      for (std::uint64_t i = 1; i <= 7; ++i) {
        event_record e;
        e.id = {"evt-" + std::to_string(i)};
        e.run = {runs[i - 1]};
        e.created_at = from_unix_ms(1000 + static_cast<std::int64_t>(i));
        e.seq = i;
        e.endpoint = "ep1";
        e.delivery.status = i == 7 ? delivery_status::delivered : delivery_status::failed;
        if (auto ec = b.put_event(e, "{}", "http://a/"))
          return ec;
      }
      return {};
    });
  }

  void write(const store::write_fn& f) { BOOST_REQUIRE(!s->write_sync(f)); }
};

} // namespace

BOOST_FIXTURE_TEST_CASE(a_start_is_counted_a_page_at_a_time_leaving_out_runs_turned_off, fixture) {
  recovery_count total;
  std::optional<list_position> from;
  int pages = 0;
  do {
    auto page = count_recovery_page(*s, "ep1", 1000, from, 2);
    BOOST_REQUIRE(page);
    total.recovering += page->recovering;
    total.skipped_webhook_disabled += page->skipped_webhook_disabled;
    from = page->next;
    BOOST_REQUIRE(++pages <= 4);
  } while (from);
  BOOST_TEST(pages == 4); // 2 + 2 + 2 + an empty last page
  BOOST_TEST(total.recovering == 4u);
  BOOST_TEST(total.skipped_webhook_disabled == 2u);
  // From a later time, the older events are not counted.
  auto later = count_recovery_page(*s, "ep1", 1004, std::nullopt, 10);
  BOOST_REQUIRE(later);
  BOOST_TEST(later->recovering == 2u);
  BOOST_TEST(later->skipped_webhook_disabled == 1u);
  BOOST_TEST(!later->next);
  BOOST_TEST(count_recovery_page(*s, "ep2", 0, std::nullopt, 10)->recovering == 0u);
}

BOOST_FIXTURE_TEST_CASE(a_step_reads_the_stored_job_and_finds_none_once_it_is_done, fixture) {
  auto none = read_recovery_step(*s, "ep1", 3);
  BOOST_REQUIRE(none);
  BOOST_TEST(!none->has_value());
  write([](write_batch& b) { return b.put_recovery_job("ep1", recovery_job{1000, {}, 4}); });
  auto first = read_recovery_step(*s, "ep1", 3);
  BOOST_REQUIRE(first);
  BOOST_REQUIRE(first->has_value());
  auto& step = **first;
  // evt-1, evt-2 (r-2: passed over), evt-3.
  BOOST_REQUIRE(step.send.size() == 2u);
  BOOST_TEST(step.send[0].value == "evt-1");
  BOOST_TEST(step.send[1].value == "evt-3");
  BOOST_REQUIRE(step.job_after);
  BOOST_TEST(step.job_after->marked_up_to->id == "evt-3");
  BOOST_TEST(step.job_after->remaining == 2u);
}

BOOST_FIXTURE_TEST_CASE(a_recovery_runs_while_its_job_is_stored_or_its_marked_events_wait,
                        fixture) {
  BOOST_TEST(!*read_recovery_running(*s, "ep1"));
  BOOST_TEST(!*read_recovery_running(*s, "ep-unknown"));
  write([](write_batch& b) { return b.put_recovery_job("ep1", recovery_job{1000, {}, 4}); });
  BOOST_TEST(*read_recovery_running(*s, "ep1"));
  // The job marked its last event and ended; the event waits for its attempt.
  write([](write_batch& b) -> boost::system::error_code {
    bool marked = false;
    if (auto ec = b.recover_event({"evt-1"}, from_unix_ms(2000), marked))
      return ec;
    return b.put_recovery_job("ep1", std::nullopt);
  });
  BOOST_TEST(*read_recovery_running(*s, "ep1"));
  write([](write_batch& b) {
    return b.update_event({"evt-1"}, [](event_record& e) {
      attempt_record a;
      a.attempt = 1;
      a.at = from_unix_ms(2100);
      a.status_code = 204;
      e.delivery.attempts.push_back(a);
      e.delivery.status = delivery_status::delivered;
      e.delivery.next_attempt_at.reset();
    });
  });
  BOOST_TEST(!*read_recovery_running(*s, "ep1"));
}
