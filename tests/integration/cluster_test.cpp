// Three rundund processes on loopback, joined by CAF's middleman: requests spread over
// every node, runs driven through nodes that do not own them, a node killed with SIGKILL
// and brought back, a single node's data dir joining a cluster, and mutual TLS.

#include "tests/support/images.hpp"
#include "tests/support/scripted_receiver.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/test_pki.hpp"

#include "net/webhook_verifier.hpp"
#include "persistence/ids.hpp"

#define BOOST_TEST_MODULE cluster
#include <boost/test/unit_test.hpp>

#include <boost/json.hpp>

#include <fstream>
#include <set>

using namespace rundun;
using namespace rundun::test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

constexpr auto secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// Node ids and cluster ports, fixed before any node starts (every node gets the same list).
struct layout {
  std::vector<std::string> ids;
  std::vector<std::uint16_t> ports;

  explicit layout(std::vector<std::string> names) : ids(std::move(names)) {
    for (std::size_t i = 0; i < ids.size(); ++i)
      ports.push_back(free_port());
  }
  std::string list() const {
    std::string out;
    for (std::size_t i = 0; i < ids.size(); ++i)
      out += (i ? "," : "") + ids[i] + "=127.0.0.1:" + std::to_string(ports[i]);
    return out;
  }
};

/// A cluster of real processes, each with its own data dir.
struct cluster {
  layout where;
  std::vector<std::unique_ptr<temp_dir>> dirs;
  std::vector<std::unique_ptr<server_process>> nodes;
  std::vector<std::string> extra;

  explicit cluster(std::vector<std::string> ids, std::vector<std::string> more = {})
      : where(std::move(ids)), extra(std::move(more)) {
    for (std::size_t i = 0; i < where.ids.size(); ++i) {
      dirs.push_back(std::make_unique<temp_dir>());
      nodes.emplace_back();
      start(i);
    }
    BOOST_REQUIRE(eventually([&] { return all_reachable(); }, 15s));
  }

  void start(std::size_t i) {
    std::vector<std::string> flags{"--node-id",  where.ids[i],       "--cluster",
                                   where.list(), "--retry-schedule", "200ms,200ms,200ms"};
    flags.insert(flags.end(), extra.begin(), extra.end());
    nodes[i] = std::make_unique<server_process>(dirs[i]->str(), flags);
  }

  api_client api(std::size_t i) const { return nodes[i]->api(); }

  /// Whether node `i` sees every member as reachable.
  bool reachable_from(std::size_t i) const {
    return every_member_reachable(api(i).get("/v1/cluster"));
  }

  bool all_reachable() const {
    for (std::size_t i = 0; i < nodes.size(); ++i)
      if (nodes[i] && !reachable_from(i))
        return false;
    return true;
  }
};

std::string template_body() {
  return R"({"name":"Shift","steps":[{"id":"open","title":"Open"},{"id":"close","title":"Close"}]})";
}

std::string run_body(const std::string& tid, const std::string& url) {
  return R"({"template_id":")" + tid + R"(","webhook":{"url":")" + url + R"(","secret":")" +
         secret + R"("}})";
}

/// Every event id that reached `rx` with a valid signature.
std::set<std::string> verified_events(const scripted_receiver& rx) {
  auto verifier = net::webhook_verifier::from_secret(secret);
  std::set<std::string> out;
  for (auto& r : rx.requests()) {
    if (verifier->verify(r.header("webhook-id"), r.header("webhook-timestamp"),
                         r.header("webhook-signature"), r.body, std::chrono::system_clock::now()))
      continue;
    out.insert(std::string(r.json().at("event_id").as_string()));
  }
  return out;
}

std::set<std::string> event_ids(const api_client& api, const std::string& run) {
  std::set<std::string> out;
  auto r = api.get("/v1/runs/" + run + "/events");
  BOOST_REQUIRE_EQUAL(r.status, 200);
  auto doc = r.json();
  for (auto& e : doc.at("events").as_array())
    out.insert(std::string(e.at("event_id").as_string()));
  return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(runs_spread_over_every_node_are_driven_and_read_through_the_others) {
  cluster c{{"n1", "n2", "n3"}};
  scripted_receiver rx;
  auto tid = c.api(0).make_template(json::parse(template_body()));
  struct made {
    std::string id, link;
    std::size_t owner;
  };
  std::vector<made> runs;
  // Created through every node (the template is fetched from n1 once by the others).
  for (std::size_t i = 0; i < 6; ++i) {
    auto owner = i % 3;
    auto run = c.api(owner).make_run(json::parse(run_body(tid, rx.url())));
    auto id = std::string(run.at("id").as_string());
    auto mark = owner_of_id(id);
    BOOST_REQUIRE(mark);
    BOOST_TEST(mark->value == make_owner_mark(c.where.ids[owner]).value);
    runs.push_back({id, link_path(std::string(run.at("link").as_string())), owner});
  }
  std::set<std::string> expected;
  for (auto& r : runs) {
    auto other = (r.owner + 1) % 3, third = (r.owner + 2) % 3;
    // Driven to the end through nodes that do not own the run, by link token.
    BOOST_TEST(
        http_call(c.nodes[other]->port(), "POST", r.link + "/steps/open/answer", "{}").status ==
        200);
    BOOST_TEST(
        http_call(c.nodes[third]->port(), "POST", r.link + "/steps/close/answer", "{}").status ==
        200);
    auto submitted = http_call(c.nodes[other]->port(), "POST", r.link + "/submit");
    BOOST_TEST(submitted.status == 200);
    // Read through every node: the same answer.
    auto at_owner = c.api(r.owner).get("/v1/runs/" + r.id);
    BOOST_TEST(at_owner.json().at("status").as_string() == "completed");
    for (std::size_t i = 0; i < 3; ++i) {
      auto seen = c.api(i).get("/v1/runs/" + r.id);
      BOOST_TEST(seen.status == 200);
      BOOST_TEST(seen.body == at_owner.body);
      BOOST_TEST(http_call(c.nodes[i]->port(), "GET", r.link + "/state").status == 200);
    }
    for (auto& e : event_ids(c.api(third), r.id))
      expected.insert(e);
  }
  BOOST_TEST(expected.size() == runs.size() * 3); // two step.completed and a run.completed
  BOOST_TEST(eventually([&] { return verified_events(rx) == expected; }, 20s));
  // Forwarded requests show in the metrics of the nodes that forwarded them.
  auto metrics = http_call(c.nodes[1]->port(), "GET", "/metrics").body;
  BOOST_TEST(metrics.find("rundun_cluster_node{node_id=\"n2\"} 1") != std::string::npos);
  BOOST_TEST(metrics.find("rundun_cluster_peer_up{peer=\"n1\"} 1") != std::string::npos);
  BOOST_TEST(metrics.find("rundun_cluster_forwarded_total{outcome=\"answered\"} 0") ==
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_photo_of_several_mib_crosses_to_its_owner_and_back) {
  cluster c{{"n1", "n2"}};
  auto tid = c.api(0).make_template(json::parse(template_body()));
  auto run = c.api(1).make_run(json::parse(R"({"template_id":")" + tid + R"("})"));
  auto link = link_path(std::string(run.at("link").as_string()));
  auto jpeg = make_jpeg(noise(1600, 1200), 0, 100); // several MiB
  auto up = http_call(c.nodes[0]->port(), "POST", link + "/steps/open/photos", jpeg,
                      {{"Content-Type", "image/jpeg"}});
  BOOST_REQUIRE_EQUAL(up.status, 201);
  auto id = std::string(up.json().at("photo_id").as_string());
  BOOST_TEST(c.api(0).get("/v1/photos/" + id).body == jpeg);
}

BOOST_AUTO_TEST_CASE(a_killed_node_is_503_within_2s_changes_nothing_and_loses_nothing) {
  cluster c{{"n1", "n2", "n3"}};
  // The webhook refuses until told otherwise, so n2's first event is waiting for a retry
  // when n2 dies.
  std::atomic<bool> accept{false};
  scripted_receiver rx{[&](const received&, std::size_t) {
    reply_plan plan;
    plan.status = accept.load() ? 204 : 500;
    return plan;
  }};
  auto tid = c.api(0).make_template(json::parse(template_body()));
  auto victim = c.api(1).make_run(json::parse(run_body(tid, rx.url())));
  auto victim_id = std::string(victim.at("id").as_string());
  auto victim_link = link_path(std::string(victim.at("link").as_string()));
  BOOST_REQUIRE_EQUAL(
      http_call(c.nodes[0]->port(), "POST", victim_link + "/steps/open/answer", "{}").status, 200);
  BOOST_REQUIRE(rx.wait_for(1, 10s)); // attempted once, refused
  c.nodes[1]->kill9();

  // Its runs: 503 node_unavailable with Retry-After, within the contract's 2 s.
  auto asked = std::chrono::steady_clock::now();
  auto read = c.api(0).get("/v1/runs/" + victim_id);
  auto act = http_call(c.nodes[2]->port(), "POST", victim_link + "/steps/close/answer", "{}");
  BOOST_TEST((std::chrono::steady_clock::now() - asked < 2s));
  BOOST_TEST(read.status == 503);
  BOOST_TEST(read.error_code() == "node_unavailable");
  BOOST_TEST(!read.headers["retry-after"].empty());
  BOOST_TEST(act.status == 503);

  // Everything else works: a new run through n3 with n1's template, driven through n1, and
  // its events delivered by n3 (retries included) while n2 is down.
  accept = true;
  auto other = c.api(2).make_run(json::parse(run_body(tid, rx.url())));
  auto other_link = link_path(std::string(other.at("link").as_string()));
  BOOST_TEST(
      http_call(c.nodes[0]->port(), "POST", other_link + "/steps/open/answer", "{}").status == 200);
  auto other_events = event_ids(c.api(0), std::string(other.at("id").as_string()));
  BOOST_TEST(eventually([&] {
    auto seen = verified_events(rx);
    return std::includes(seen.begin(), seen.end(), other_events.begin(), other_events.end());
  }));

  // n2 comes back on its own data dir: its runs answer again through every node, the 503
  // changed nothing, and its overdue retry goes out.
  c.start(1);
  BOOST_REQUIRE(eventually([&] { return c.all_reachable(); }, 15s));
  auto back = c.api(0).get("/v1/runs/" + victim_id);
  BOOST_TEST(back.status == 200);
  auto steps = back.json().at("steps").as_array();
  BOOST_TEST(steps[0].at("status").as_string() == "completed");
  BOOST_TEST(steps[1].at("status").as_string() == "pending"); // the refused action: not done
  auto victim_events = event_ids(c.api(2), victim_id);
  BOOST_TEST(eventually([&] {
    auto seen = verified_events(rx);
    return std::includes(seen.begin(), seen.end(), victim_events.begin(), victim_events.end());
  }));
}

BOOST_AUTO_TEST_CASE(a_template_made_while_a_node_was_down_is_usable_there_once_it_is_back) {
  cluster c{{"n1", "n2"}};
  c.nodes[1]->kill9();
  auto tid = c.api(0).make_template(json::parse(template_body()));
  c.start(1);
  BOOST_REQUIRE(eventually([&] { return c.all_reachable(); }, 15s));
  BOOST_TEST(c.api(1).get("/v1/templates/" + tid).status == 200);
  auto run = c.api(1).post("/v1/runs", R"({"template_id":")" + tid + R"("})");
  BOOST_TEST(run.status == 201);
  // ...and the run lives on n2, which made it.
  auto mark = owner_of_id(std::string(run.json().at("id").as_string()));
  BOOST_TEST((mark && mark->value == make_owner_mark("n2").value));
}

BOOST_AUTO_TEST_CASE(a_single_nodes_data_dir_joins_a_cluster_and_its_runs_are_found) {
  temp_dir solo_dir;
  std::string old_run, old_link;
  {
    server_process solo{solo_dir.str()};
    auto tid = solo.api().make_template(json::parse(template_body()));
    auto run = solo.api().make_run(json::parse(R"({"template_id":")" + tid + R"("})"));
    old_run = std::string(run.at("id").as_string());
    old_link = link_path(std::string(run.at("link").as_string()));
    BOOST_TEST(!owner_of_id(old_run)); // a single node's ids carry no owner
    BOOST_TEST(solo.terminate() == 0);
  }
  layout where{{"old", "new"}};
  auto flags = [&](const std::string& id) {
    return std::vector<std::string>{"--node-id", id, "--cluster", where.list()};
  };
  temp_dir fresh;
  server_process joined{solo_dir.str(), flags("old")};
  server_process added{fresh.str(), flags("new")};
  // Asked through the node that does not have it: found on the other one.
  BOOST_TEST(eventually([&] { return added.api().get("/v1/runs/" + old_run).status == 200; }, 15s));
  BOOST_TEST(http_call(added.port(), "POST", old_link + "/steps/open/answer", "{}").status == 200);
  BOOST_TEST(
      joined.api().get("/v1/runs/" + old_run).json().at("steps").as_array()[0].at("status") ==
      "completed");
  // An id that no node has is still a 404.
  auto missing = added.api().get("/v1/runs/r-00000000-0000-4000-8000-000000000000");
  BOOST_TEST(missing.status == 404);
  BOOST_TEST(missing.error_code() == "run_not_found");
}

BOOST_AUTO_TEST_CASE(a_data_dir_refuses_to_start_as_another_node) {
  layout where{{"first", "second"}};
  temp_dir dir;
  {
    server_process first{dir.str(), {"--node-id", "first", "--cluster", where.list()}};
    BOOST_TEST(first.terminate() == 0);
  }
  auto r = run_rundund({"--listen", "127.0.0.1:0", "--data-dir", dir.str(), "--node-id", "second",
                        "--cluster", where.list()});
  BOOST_TEST(r.exit_code != 0);
  BOOST_TEST(r.err.find("belongs to node 'first'") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(the_cluster_flags_are_checked_together) {
  auto err = [](std::vector<std::string> args) {
    auto r = run_rundund(args);
    BOOST_TEST(r.exit_code == 2);
    return r.err;
  };
  BOOST_TEST(err({"--node-id", "a"}).find("--node-id needs --cluster") != std::string::npos);
  BOOST_TEST(err({"--cluster", "a=127.0.0.1:1"}).find("--cluster needs --node-id") !=
             std::string::npos);
  BOOST_TEST(err({"--node-id", "a", "--cluster", "b=127.0.0.1:1"}).find("must list this node") !=
             std::string::npos);
  BOOST_TEST(err({"--node-id", "A!", "--cluster", "a=127.0.0.1:1"}).find("[a-z0-9-]{1,32}") !=
             std::string::npos);
  BOOST_TEST(err({"--node-id", "a", "--cluster", "a=127.0.0.1:1,a=127.0.0.1:2"}).find("twice") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(nodes_verify_each_other_with_the_cluster_ca_and_refuse_a_foreign_one) {
  temp_dir pki;
  test_ca ca{"Rundun Cluster CA"}, foreign{"Somebody Else's CA"};
  auto write = [&](const std::string& name, const std::string& pem) {
    auto path = (pki.path() / name).string();
    std::ofstream{path} << pem;
    return path;
  };
  auto ca_file = write("ca.pem", ca.cert_pem());
  auto identity = [&](const std::string& id, const test_ca& by) {
    auto t = by.issue({id}, {"127.0.0.1"}, -1, 30, "serverAuth,clientAuth");
    return std::vector<std::string>{"--cluster-cert", write(id + ".crt", t.cert_pem),
                                    "--cluster-key",  write(id + ".key", t.key_pem),
                                    "--cluster-ca",   ca_file};
  };
  layout where{{"t1", "t2", "intruder"}};
  auto flags = [&](const std::string& id, const test_ca& by) {
    auto f = identity(id, by);
    f.insert(f.end(), {"--node-id", id, "--cluster", where.list()});
    return f;
  };
  temp_dir d1, d2, d3;
  server_process t1{d1.str(), flags("t1", ca)};
  server_process t2{d2.str(), flags("t2", ca)};
  auto member_reachable = [](const server_process& s, const std::string& peer) {
    auto doc = s.api().get("/v1/cluster").json();
    for (auto& m : doc.at("members").as_array())
      if (m.at("id").as_string() == peer)
        return m.at("reachable").as_bool();
    return false;
  };
  auto linked = [&] { return member_reachable(t1, "t2") && member_reachable(t2, "t1"); };
  BOOST_TEST(eventually(linked, 15s));
  BOOST_TEST(t1.stderr_text().find("unauthenticated") == std::string::npos);
  // A run of t2 read through t1, over TLS.
  auto tid = t2.api().make_template(json::parse(template_body()));
  auto run = t2.api().make_run(json::parse(R"({"template_id":")" + tid + R"("})"));
  auto read = t1.api().get("/v1/runs/" + std::string(run.at("id").as_string()));
  BOOST_TEST(read.status == 200, read.body);

  // The intruder's certificate is from another CA: the members refuse it, and it says so.
  // (Its failed handshakes may drop the members' own link for a moment: CAF 0.17.6 leaves
  // OpenSSL's error queue uncleared; see docs/cluster.md. The link comes back by itself.)
  server_process intruder{d3.str(), flags("intruder", foreign)};
  BOOST_TEST(eventually([&] {
    return intruder.stderr_text().find("cannot connect to cluster peer") != std::string::npos;
  }));
  BOOST_TEST(!member_reachable(t1, "intruder"));
  BOOST_TEST(!member_reachable(t2, "intruder"));
  BOOST_TEST(!member_reachable(intruder, "t1"));
  BOOST_TEST(eventually(linked, 15s));
}

BOOST_AUTO_TEST_CASE(a_node_without_cluster_tls_warns_that_its_port_is_unauthenticated) {
  layout where{{"plain"}};
  temp_dir dir;
  server_process plain{dir.str(), {"--node-id", "plain", "--cluster", where.list()}};
  BOOST_TEST(plain.stderr_text().find("the cluster port is unauthenticated") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(lists_merge_every_nodes_items_and_name_a_node_that_is_down) {
  cluster c{{"n1", "n2", "n3"}};
  std::atomic<bool> fixed{false};
  scripted_receiver rx{[&](const received&, std::size_t) {
    reply_plan plan;
    plan.status = fixed ? 204 : 500;
    return plan;
  }};
  auto tid = c.api(0).make_template(json::parse(template_body()));
  // Two runs made on each node, each answered once: 6 events, 2 on each node, all failing.
  std::set<std::string> runs, events;
  for (std::size_t i = 0; i < 3; ++i)
    for (int k = 0; k < 2; ++k) {
      auto run = c.api(i).make_run(json::parse(run_body(tid, rx.url())));
      auto id = std::string(run.at("id").as_string());
      auto link = link_path(std::string(run.at("link").as_string()));
      BOOST_REQUIRE_EQUAL(
          http_call(c.nodes[i]->port(), "POST", link + "/steps/open/answer", "{}").status, 200);
      runs.insert(id);
      auto mine = event_ids(c.api(i), id);
      events.insert(mine.begin(), mine.end());
    }
  BOOST_REQUIRE_EQUAL(events.size(), 6u);
  // Paged two at a time through n2: every node's events once each, newest first.
  auto page_through = [&](std::size_t via, const std::string& target, const std::string& items,
                          const std::string& id_field) {
    std::vector<std::string> ids;
    std::string cursor;
    for (int page = 0; page < 20; ++page) {
      auto r = c.api(via).get(target + (cursor.empty() ? "" : "&cursor=" + cursor));
      BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
      auto o = r.json().as_object();
      BOOST_TEST(!o.contains("unavailable_nodes"));
      for (auto& item : o.at(items).as_array())
        ids.emplace_back(item.at(id_field).as_string());
      if (o.at("next_cursor").is_null())
        break;
      cursor = std::string(o.at("next_cursor").as_string());
    }
    return ids;
  };
  BOOST_REQUIRE(eventually(
      [&] {
        auto r = c.api(0).get("/v1/events?status=failed&limit=500").json();
        return r.at("events").as_array().size() == 6u;
      },
      20s));
  auto listed = page_through(1, "/v1/events?limit=2", "events", "event_id");
  BOOST_TEST(listed.size() == 6u);
  BOOST_TEST((std::set<std::string>(listed.begin(), listed.end()) == events));
  auto listed_runs = page_through(2, "/v1/runs?limit=4&template_id=" + tid, "runs", "id");
  BOOST_TEST((std::set<std::string>(listed_runs.begin(), listed_runs.end()) == runs));
  BOOST_TEST(listed_runs.size() == 6u);
  // One endpoint, with every node's figures summed.
  auto endpoints = c.api(0).get("/v1/endpoints").json().at("endpoints").as_array();
  BOOST_REQUIRE_EQUAL(endpoints.size(), 1u);
  BOOST_TEST(endpoints[0].at("failed") == 6);
  BOOST_TEST(!endpoints[0].at("failing_since").is_null());
  // A recovery through one node runs on every node.
  fixed = true;
  auto before = rx.requests().size();
  auto r = c.api(2).post_json("/v1/endpoints/recover",
                              {{"url", rx.url()}, {"since", "2000-01-01T00:00:00Z"}});
  BOOST_REQUIRE_MESSAGE(r.status == 202, r.body);
  BOOST_TEST(r.json().at("recovering") == 6);
  BOOST_REQUIRE(rx.wait_for(before + 6, 10s));
  BOOST_REQUIRE(eventually([&] {
    auto e = c.api(1).get("/v1/endpoints").json().at("endpoints").at(0);
    return e.at("delivered") == 6 && e.at("failing_since").is_null();
  }));
  // A node down: the others' items are still listed, and it is named.
  c.nodes[2]->kill9();
  auto partial = c.api(0).get("/v1/events?limit=500");
  BOOST_REQUIRE_EQUAL(partial.status, 200);
  auto doc = partial.json().as_object();
  BOOST_TEST(doc.at("events").as_array().size() == 4u);
  BOOST_TEST(doc.at("unavailable_nodes") == json::array{"n3"});
  auto recovered = c.api(0).post_json("/v1/endpoints/recover",
                                      {{"url", rx.url()}, {"since", "2000-01-01T00:00:00Z"}});
  BOOST_TEST(recovered.status == 202);
  BOOST_TEST(recovered.json().at("unavailable_nodes") == json::array{"n3"});
  // Refusals come from the node asked, once.
  BOOST_TEST(c.api(0).get("/v1/events?status=lost").status == 400);
  BOOST_TEST(c.api(0).get("/v1/runs?cursor=bogus").error_code() == "invalid_cursor");
}
