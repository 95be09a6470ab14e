#include "actors/cluster_reader.hpp"
#include "actors/engine.hpp"

#define BOOST_TEST_MODULE cluster_reader
#include <boost/test/unit_test.hpp>

#include "tests/support/engine_calls.hpp"
#include "tests/support/images.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/two_members.hpp"

// The engine's queries in their asynchronous form, through a cluster of two nodes in one
// process: each with its own engine and LMDB, talking through CAF's real middleman. An
// embedder reads any run through any node, and gets what its owner's engine has.

using namespace rundun;
using rundun::test::two_members;
using rundun::test::wait;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<engine> open_engine(const test::temp_dir& dir, std::optional<std::string> node) {
  auto o = test::engine_options_for(dir.path(), 1s);
  o.node_id = std::move(node);
  auto eng = engine::open(o);
  BOOST_REQUIRE(eng);
  return std::move(*eng);
}

/// One node: its engine, its cluster node (which answers queries from the engine and no
/// forwarded request), and the reader an embedder would use.
struct member_node {
  std::unique_ptr<engine> eng;
  std::unique_ptr<cluster::node> node;
  std::unique_ptr<cluster::cluster_reader> reads;

  member_node(const std::string& id, const std::vector<cluster::member>& members,
              const test::temp_dir& dir)
      : eng(open_engine(dir, id)) {
    cluster::options o;
    o.node_id = id;
    o.members = members;
    o.reconnect_max = 200ms;
    auto started = cluster::node::start(
        o,
        [](cluster::forwarded_request, std::function<void(cluster::forwarded_response)> done) {
          done({501, {}, "not in this test"});
        },
        [e = eng.get()](read_request req, std::function<void(read_answer)> done) {
          answer_read(*e, std::move(req), std::move(done));
        });
    BOOST_REQUIRE(started);
    node = std::move(*started);
    reads = std::make_unique<cluster::cluster_reader>(*eng, *node);
  }

  bool reaches(const std::string& peer) const {
    for (auto& m : node->states())
      if (m.id == peer)
        return m.reachable;
    return false;
  }
};

created_run make_run(engine& eng) {
  auto tmpl = wait<template_record>([&](auto cb) { eng.create_template(test::checklist(), cb); });
  BOOST_REQUIRE(tmpl);
  auto run = wait<created_run>([&](auto cb) { eng.create_run({tmpl->id, {}, 1, "{}"}, cb); });
  BOOST_REQUIRE(run);
  return *run;
}

template <class T>
void require_refusal(const outcome<T>& r, error_kind kind, const std::string& code) {
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error().kind == kind));
  BOOST_TEST(r.error().code == code);
}

} // namespace

BOOST_AUTO_TEST_CASE(every_query_reads_a_run_on_its_owner_through_another_node) {
  test::temp_dir dir_a, dir_b;
  auto members = two_members();
  member_node a{"a", members, dir_a}, b{"b", members, dir_b};
  BOOST_REQUIRE(test::eventually([&] { return b.reaches("a"); }));

  auto run = make_run(*a.eng);
  auto jpeg = test::make_jpeg(test::quadrants(64, 48));
  auto photo = wait<uploaded_photo>(
      [&](auto cb) { a.eng->add_photo(run.run.token, "kitchen", "image/jpeg", jpeg, cb); });
  BOOST_REQUIRE(photo);
  BOOST_REQUIRE(wait<run_record>([&](auto cb) {
    a.eng->act(run.run.token, run_action::answer, "kitchen", R"({"value":1})", cb);
  }));
  BOOST_REQUIRE(!b.eng->get_run(run.run.id)); // b's own store has none of it

  auto by_id = wait<run_record>([&](auto cb) { b.reads->read_run(run.run.id, cb); });
  BOOST_REQUIRE(by_id);
  BOOST_TEST(by_id->token == run.run.token);
  BOOST_TEST((by_id->steps[0].status == step_status::completed));
  BOOST_TEST(by_id->steps[0].photos.size() == 1u);

  auto by_token = wait<run_record>([&](auto cb) { b.reads->read_run_by_token(run.run.token, cb); });
  BOOST_REQUIRE(by_token);
  BOOST_TEST(by_token->id.value == run.run.id.value);

  auto events =
      wait<std::vector<event_record>>([&](auto cb) { b.reads->read_events(run.run.id, cb); });
  auto local_events = a.eng->get_events(run.run.id);
  BOOST_REQUIRE(events);
  BOOST_REQUIRE(events->size() == local_events->size());
  BOOST_REQUIRE(!events->empty());
  BOOST_TEST(events->front().id.value == local_events->front().id.value);
  BOOST_TEST(events->front().seq == local_events->front().seq);
  BOOST_TEST((events->front().delivery.status == local_events->front().delivery.status));

  auto original = wait<photo_content>([&](auto cb) { b.reads->read_photo(photo->id, cb); });
  BOOST_REQUIRE(original);
  BOOST_TEST(original->content_type == "image/jpeg");
  BOOST_TEST(original->bytes == jpeg);

  auto thumb = wait<photo_content>(
      [&](auto cb) { b.reads->read_photo_thumbnail(run.run.token, photo->id, cb); });
  BOOST_REQUIRE(thumb);
  BOOST_TEST(thumb->bytes == a.eng->get_photo_thumbnail(run.run.token, photo->id)->bytes);

  auto tmpl =
      wait<template_record>([&](auto cb) { b.reads->read_template(run.run.source_template, cb); });
  BOOST_REQUIRE(tmpl);
  BOOST_TEST(tmpl->name == "Checkout");

  // b's own runs are read from b's engine, and the owner's refusals come back as they are.
  auto own = make_run(*b.eng);
  BOOST_TEST(wait<run_record>([&](auto cb) { b.reads->read_run(own.run.id, cb); }).has_value());
  auto mark_a = members[0].mark;
  require_refusal(
      wait<run_record>([&](auto cb) { b.reads->read_run(id_minter{mark_a}.run(), cb); }),
      error_kind::not_found, "run_not_found");
  require_refusal(wait<run_record>([&](auto cb) {
                    b.reads->read_run_by_token(id_minter{mark_a}.link_token(), cb);
                  }),
                  error_kind::not_found, "link_not_found");
  auto own_photo = wait<uploaded_photo>(
      [&](auto cb) { b.eng->add_photo(own.run.token, "kitchen", "image/jpeg", jpeg, cb); });
  require_refusal(wait<photo_content>([&](auto cb) {
                    a.reads->read_photo_thumbnail(run.run.token, own_photo->id, cb);
                  }),
                  error_kind::not_found, "photo_not_found");
  BOOST_TEST(b.node->counters().answered.load() >= 7u);
}

BOOST_AUTO_TEST_CASE(a_query_for_a_node_that_is_down_is_node_unavailable_at_once) {
  test::temp_dir dir_a, dir_b;
  auto members = two_members();
  auto a = std::make_unique<member_node>("a", members, dir_a);
  member_node b{"b", members, dir_b};
  BOOST_REQUIRE(test::eventually([&] { return b.reaches("a"); }));
  auto run = make_run(*a->eng);
  a.reset();
  BOOST_REQUIRE(test::eventually([&] { return !b.reaches("a"); }, 5s));

  auto asked = std::chrono::steady_clock::now();
  auto r = wait<run_record>([&](auto cb) { b.reads->read_run(run.run.id, cb); });
  BOOST_TEST((std::chrono::steady_clock::now() - asked < 2s)); // the contract's bound
  require_refusal(r, error_kind::unavailable, "node_unavailable");
  BOOST_TEST(r.error().message.find("'a'") != std::string::npos);

  // Back on its data dir: its runs answer again.
  a = std::make_unique<member_node>("a", members, dir_a);
  BOOST_REQUIRE(test::eventually([&] { return b.reaches("a"); }));
  BOOST_TEST(wait<run_record>([&](auto cb) { b.reads->read_run(run.run.id, cb); }).has_value());
}

BOOST_AUTO_TEST_CASE(an_unmarked_id_is_found_on_whichever_node_holds_it) {
  test::temp_dir dir_a, dir_b;
  // A single node's run: a UUID v4 id, no owner mark, in the data dir that joins as `a`.
  auto old = make_run(*open_engine(dir_a, std::nullopt));
  BOOST_REQUIRE(!owner_of_id(old.run.id.value));

  auto members = two_members();
  auto a = std::make_unique<member_node>("a", members, dir_a);
  member_node b{"b", members, dir_b};
  BOOST_REQUIRE(test::eventually([&] { return b.reaches("a"); }));
  auto found = wait<run_record>([&](auto cb) { b.reads->read_run_by_token(old.run.token, cb); });
  BOOST_REQUIRE(found);
  BOOST_TEST(found->id.value == old.run.id.value);
  BOOST_TEST(wait<run_record>([&](auto cb) { a->reads->read_run(old.run.id, cb); }).has_value());
  auto nowhere = id_minter{std::nullopt}.run();
  require_refusal(wait<run_record>([&](auto cb) { b.reads->read_run(nowhere, cb); }),
                  error_kind::not_found, "run_not_found");

  // With `a` down, nobody can say the old run does not exist.
  a.reset();
  BOOST_REQUIRE(test::eventually([&] { return !b.reaches("a"); }, 5s));
  require_refusal(wait<run_record>([&](auto cb) { b.reads->read_run(old.run.id, cb); }),
                  error_kind::unavailable, "node_unavailable");
}
