// Three rundund processes on loopback, joined by CAF's middleman: requests spread over
// every node, runs driven through nodes that do not own them, a node killed with SIGKILL
// and brought back, a single node's data dir joining a cluster, and mutual TLS.

#include "actors/cluster.hpp"
#include "tests/support/images.hpp"
#include "tests/support/prometheus_text.hpp"
#include "tests/support/scripted_receiver.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/test_pki.hpp"

#include "net/webhook_verifier.hpp"
#include "persistence/clock.hpp"
#include "persistence/ids.hpp"
#include "persistence/record_codec.hpp"

#define BOOST_TEST_MODULE cluster
#include <boost/test/unit_test.hpp>

#include <boost/json.hpp>

#include <arpa/inet.h>
#include <fstream>
#include <future>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <set>
#include <sys/socket.h>
#include <unistd.h>

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

/// The cluster's certificates: one test CA, and per node a certificate naming its id (as the
/// contract requires), as the files the three --cluster-* flags take.
struct cluster_pki {
  temp_dir dir;
  test_ca ca{"Rundun Cluster CA"};
  std::string ca_file = write("ca.pem", ca.cert_pem());

  std::string write(const std::string& name, const std::string& pem) const {
    auto path = (dir.path() / name).string();
    std::ofstream{path} << pem;
    return path;
  }
  /// The flags of node `id` with a certificate from `by` (this CA by default) that names
  /// `names` (the id by default).
  std::vector<std::string> flags(const std::string& id, const test_ca* by = nullptr,
                                 std::vector<std::string> names = {}) const {
    if (names.empty())
      names = {id};
    auto t = (by ? *by : ca).issue(names, {"127.0.0.1"}, -1, 30, "serverAuth,clientAuth");
    return {"--cluster-cert", write(id + ".crt", t.cert_pem),
            "--cluster-key",  write(id + ".key", t.key_pem),
            "--cluster-ca",   ca_file};
  }
};

/// A cluster of real processes, each with its own data dir, joined by mutual TLS (the
/// default a cluster must have).
struct cluster_processes {
  cluster_pki pki;
  layout where;
  std::vector<std::unique_ptr<temp_dir>> dirs;
  std::vector<std::unique_ptr<server_process>> nodes;
  std::vector<std::string> extra;

  explicit cluster_processes(std::vector<std::string> ids, std::vector<std::string> more = {})
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
    auto tls = pki.flags(where.ids[i]);
    flags.insert(flags.end(), tls.begin(), tls.end());
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
  cluster_processes c{{"n1", "n2", "n3"}};
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
  cluster_processes c{{"n1", "n2"}};
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
  cluster_processes c{{"n1", "n2", "n3"}};
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
  cluster_processes c{{"n1", "n2"}};
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
    return std::vector<std::string>{"--node-id", id, "--cluster", where.list(),
                                    "--cluster-insecure"};
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
    server_process first{dir.str(),
                         {"--node-id", "first", "--cluster", where.list(), "--cluster-insecure"}};
    BOOST_TEST(first.terminate() == 0);
  }
  auto r = run_rundund({"--listen", "127.0.0.1:0", "--data-dir", dir.str(), "--node-id", "second",
                        "--cluster", where.list(), "--cluster-insecure"});
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
  // Plain text only when asked for (contract §1).
  BOOST_TEST(err({"--node-id", "a", "--cluster", "a=127.0.0.1:1"})
                 .find("--cluster needs --cluster-cert, --cluster-key and --cluster-ca") !=
             std::string::npos);
  BOOST_TEST(err({"--cluster-insecure"}).find("--cluster-insecure needs --cluster") !=
             std::string::npos);
  // A certificate must name its node: one that names another refuses to start.
  cluster_pki pki;
  auto named_b = pki.flags("b");
  auto as_a = named_b;
  as_a.insert(as_a.end(), {"--node-id", "a", "--cluster", "a=127.0.0.1:1,b=127.0.0.1:2"});
  BOOST_TEST(err(as_a).find("--cluster-cert must name this node's id 'a' as its subject CN or a "
                            "DNS subjectAltName; it names 'b'") != std::string::npos);
  // A key that is not the certificate's.
  auto mixed = pki.flags("a");
  mixed[3] = named_b[3];
  mixed.insert(mixed.end(), {"--node-id", "a", "--cluster", "a=127.0.0.1:1,b=127.0.0.1:2"});
  BOOST_TEST(err(mixed).find("does not belong to the certificate") != std::string::npos);
  // Certificates and --cluster-insecure do not go together.
  auto both = pki.flags("a");
  both.insert(both.end(), {"--node-id", "a", "--cluster", "a=127.0.0.1:1", "--cluster-insecure"});
  BOOST_TEST(err(both).find("--cluster-insecure goes without") != std::string::npos);
  BOOST_TEST(err({"--node-id", "A!", "--cluster", "a=127.0.0.1:1"}).find("[a-z0-9-]{1,32}") !=
             std::string::npos);
  BOOST_TEST(err({"--node-id", "a", "--cluster", "a=127.0.0.1:1,a=127.0.0.1:2"}).find("twice") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(nodes_verify_each_other_with_the_cluster_ca_and_refuse_a_foreign_one) {
  cluster_pki pki;
  test_ca foreign{"Somebody Else's CA"};
  layout where{{"t1", "t2", "intruder"}};
  auto flags = [&](const std::string& id, const test_ca& by) {
    auto f = pki.flags(id, &by);
    f.insert(f.end(), {"--node-id", id, "--cluster", where.list()});
    return f;
  };
  auto& ca = pki.ca;
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
  server_process plain{dir.str(),
                       {"--node-id", "plain", "--cluster", where.list(), "--cluster-insecure"}};
  BOOST_TEST(plain.stderr_text().find("the cluster port is unauthenticated") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(lists_merge_every_nodes_items_and_name_a_node_that_is_down) {
  cluster_processes c{{"n1", "n2", "n3"}};
  std::atomic<bool> fixed{false}, slow{false};
  scripted_receiver rx{[&](const received&, std::size_t) {
    reply_plan plan;
    plan.status = fixed ? 204 : 500;
    if (slow)
      plan.delay = 2s;
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
  // A recovery through one node runs on every node. Its answers take 2 s each.
  fixed = true;
  slow = true;
  auto before = rx.requests().size();
  auto r = c.api(2).post_json("/v1/endpoints/recover",
                              {{"url", rx.url()}, {"since", "2000-01-01T00:00:00Z"}});
  BOOST_REQUIRE_MESSAGE(r.status == 202, r.body);
  BOOST_TEST(r.json().at("recovering") == 6);
  // Asked again through another node while the nodes' recoveries still send: refused.
  auto again = c.api(0).post_json("/v1/endpoints/recover",
                                  {{"url", rx.url()}, {"since", "2000-01-01T00:00:00Z"}});
  BOOST_TEST(again.status == 409);
  BOOST_TEST(again.error_code() == "recovery_in_progress");
  BOOST_REQUIRE(rx.wait_for(before + 6, 10s));
  BOOST_REQUIRE(eventually([&] {
    auto e = c.api(1).get("/v1/endpoints").json().at("endpoints").at(0);
    return e.at("delivered") == 6 && e.at("failing_since").is_null();
  }));
  BOOST_TEST(rx.requests().size() == before + 6); // the refused one sent nothing
  slow = false;
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

namespace {

/// A cluster node in this process that answers every request as itself: an impostor when it
/// claims a member's id with a certificate that names another.
std::unique_ptr<cluster::node> impostor(const std::string& claims, const std::string& list,
                                        cluster::tls_files files) {
  cluster::options o;
  o.node_id = claims;
  o.members = std::get<std::vector<cluster::member>>(cluster::parse_members(list, claims));
  o.tls = std::move(files);
  o.reconnect_max = 200ms;
  auto n = cluster::node::start(
      std::move(o),
      [](cluster::forwarded_request, std::function<void(cluster::forwarded_response)> done) {
        done({200, {{"Content-Type", "application/json"}}, R"({"impostor":true})"});
      },
      [](read_request, std::function<void(read_answer)> done) { done({}); });
  BOOST_REQUIRE(n);
  return std::move(*n);
}

long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("VmRSS:"))
      return std::stol(line.substr(6));
  return -1;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_node_with_another_members_certificate_is_refused_and_never_answers) {
  // n1 is a real rundund. Two impostors hold n3's certificate, from the cluster's own CA:
  // one listens at n2's address (n1 dials it), one says hello to n1 as n0 (it dials n1).
  cluster_pki pki;
  layout where{{"n0", "n1", "n2"}};
  auto cert_of = [&](const std::string& names) {
    auto f = pki.flags(names); // --cluster-cert FILE --cluster-key FILE --cluster-ca FILE
    return cluster::tls_files{f[1], f[3], f[5]};
  };
  temp_dir dir;
  auto flags = pki.flags("n1");
  flags.insert(flags.end(), {"--node-id", "n1", "--cluster", where.list()});
  server_process n1{dir.str(), flags};
  auto at_n2 = impostor("n2", where.list(), cert_of("n3"));
  auto as_n0 = impostor("n0", where.list(), cert_of("n3"));
  auto refused = [&] {
    auto text = parse_prometheus_text(http_call(n1.port(), "GET", "/metrics").body);
    return text.value("rundun_cluster_refused_total", {{"reason", "wrong_node"}});
  };
  BOOST_REQUIRE(eventually([&] { return refused() >= 2; }, 15s));
  // Two refusals may both be one impostor's (n1 dials again): wait for each one's line.
  auto logged = [&](const char* line) {
    return eventually([&] { return n1.stderr_text().find(line) != std::string::npos; }, 15s);
  };
  BOOST_TEST(logged(R"("peer":"n2","in":"welcome","reason":"wrong_node")"));
  BOOST_TEST(logged(R"("peer":"n0","in":"hello","reason":"wrong_node")"));
  // The members' runs stay 503 node_unavailable: the impostors never answer for them.
  for (auto member : {"n0", "n2"}) {
    auto run = "r-" + make_uuid_v7(make_owner_mark(member));
    auto r = n1.api().get("/v1/runs/" + run);
    BOOST_TEST(r.status == 503, member << ": " << r.body);
    BOOST_TEST(r.error_code() == "node_unavailable");
    BOOST_TEST(r.body.find("impostor") == std::string::npos);
  }
  BOOST_TEST(!every_member_reachable(n1.api().get("/v1/cluster")));
}

BOOST_AUTO_TEST_CASE(junk_and_clients_without_a_certificate_leave_the_cluster_port_serving) {
  cluster_processes c{{"n1", "n2"}};
  auto port = c.where.ports[0];
  auto connect = [&] {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    BOOST_REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    timeval limit{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    return fd;
  };
  auto before = rss_kib(c.nodes[0]->pid());
  constexpr int rounds = 100;
  std::string junk(4096, '\0');
  for (std::size_t i = 0; i < junk.size(); ++i)
    junk[i] = static_cast<char>(0xff - (i * 31) % 256); // a huge BASP length, then noise
  for (int i = 0; i < rounds; ++i) {
    int fd = connect();
    (void)::send(fd, junk.data(), junk.size(), MSG_NOSIGNAL);
    ::close(fd);
  }
  // TLS clients without a certificate: each handshake must fail, none may be served.
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx{SSL_CTX_new(TLS_client_method()),
                                                        SSL_CTX_free};
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  int served = 0;
  for (int i = 0; i < rounds; ++i) {
    int fd = connect();
    std::unique_ptr<SSL, decltype(&SSL_free)> ssl{SSL_new(ctx.get()), SSL_free};
    SSL_set_fd(ssl.get(), fd);
    if (SSL_connect(ssl.get()) == 1) {
      // TLS 1.3 finishes the client's side before the server checks its certificate: the
      // refusal comes with the first read.
      char b;
      served += SSL_read(ssl.get(), &b, 1) > 0;
    }
    ERR_clear_error();
    ::close(fd);
  }
  BOOST_TEST(served == 0);
  // Still serving, still linked, and its memory did not grow with what it was sent.
  BOOST_TEST(eventually([&] { return c.all_reachable(); }, 15s));
  auto tid = c.api(0).make_template(json::parse(template_body()));
  auto run = c.api(1).make_run(json::parse(R"({"template_id":")" + tid + R"("})"));
  BOOST_TEST(c.api(0).get("/v1/runs/" + std::string(run.at("id").as_string())).status == 200);
  auto after = rss_kib(c.nodes[0]->pid());
  BOOST_TEST(after - before < 16 * 1024, "RSS " << before << " -> " << after << " KiB");
}

BOOST_AUTO_TEST_CASE(with_mutual_tls_killing_a_node_ten_times_never_cuts_the_survivors_link) {
  // The survivors' handshakes with the dead node fail while they read each other's runs: a
  // failed handshake must leave nothing on a thread that breaks their own link
  // (actors/tls_error_queue.hpp). Before that fix, 7 runs of 8 saw a live node's run 503.
  constexpr int rounds = 10;
  cluster_processes c{{"n1", "n2", "n3"}};
  auto tid = c.api(0).make_template(json::parse(template_body()));
  auto of_n1 = std::string(
      c.api(0).make_run(json::parse(R"({"template_id":")" + tid + R"("})")).at("id").as_string());
  auto of_n3 = std::string(
      c.api(2).make_run(json::parse(R"({"template_id":")" + tid + R"("})")).at("id").as_string());
  int reads = 0;
  for (int round = 0; round < rounds; ++round) {
    BOOST_TEST_CONTEXT("round " << round) {
      c.nodes[1]->kill9();
      // While n2 is down (and the survivors keep dialling it), each survivor reads the
      // other's run, again and again: never a 503.
      auto until = std::chrono::steady_clock::now() + 1500ms;
      while (std::chrono::steady_clock::now() < until) {
        auto a = c.api(2).get("/v1/runs/" + of_n1);
        auto b = c.api(0).get("/v1/runs/" + of_n3);
        BOOST_TEST_REQUIRE(a.status == 200, a.body);
        BOOST_TEST_REQUIRE(b.status == 200, b.body);
        reads += 2;
      }
      c.start(1);
      BOOST_REQUIRE(eventually([&] { return c.all_reachable(); }, 15s));
    }
  }
  BOOST_TEST_MESSAGE(reads << " reads across the survivors, none refused");
}

BOOST_AUTO_TEST_CASE(a_template_is_adopted_only_under_the_id_that_was_asked_for) {
  // n2 (in this process, with its own valid certificate) answers every template read with
  // another template of its own. n1 must not store that one: it would plant a template
  // that its owner never gave for that id.
  cluster_pki pki;
  layout where{{"n1", "n2"}};
  auto asked = "t-" + make_uuid_v7(make_owner_mark("n2"));
  auto planted = "t-" + make_uuid_v7(make_owner_mark("n2"));
  auto f = pki.flags("n2");
  cluster::options o;
  o.node_id = "n2";
  o.members = std::get<std::vector<cluster::member>>(cluster::parse_members(where.list(), "n2"));
  o.tls = cluster::tls_files{f[1], f[3], f[5]};
  auto n2 = cluster::node::start(
      std::move(o),
      [](cluster::forwarded_request, std::function<void(cluster::forwarded_response)> done) {
        done({404,
              {{"Content-Type", "application/json"}},
              R"({"error":{"code":"template_not_found","message":"n2 has none"}})"});
      },
      [planted](read_request, std::function<void(read_answer)> done) {
        template_record other{{planted}, "planted", {{"a", "A", true, 0}}, now()};
        read_answer a;
        a.records.push_back(encode(other));
        done(std::move(a));
      });
  BOOST_REQUIRE(n2);
  temp_dir dir;
  auto flags = pki.flags("n1");
  flags.insert(flags.end(), {"--node-id", "n1", "--cluster", where.list()});
  server_process n1{dir.str(), flags};
  BOOST_REQUIRE(
      eventually([&] { return every_member_reachable(n1.api().get("/v1/cluster")); }, 15s));
  auto made = n1.api().post_json("/v1/runs", json::parse(R"({"template_id":")" + asked + R"("})"));
  BOOST_TEST(made.status == 404, made.body);
  BOOST_TEST(made.error_code() == "template_not_found");
  BOOST_TEST(eventually([&] {
    return n1.stderr_text().find("a peer answered a template read with another template") !=
           std::string::npos;
  }));
  // n1 holds no copy of the other template: asked for it, n1 forwards to n2 (which says 404).
  auto got = n1.api().get("/v1/templates/" + planted);
  BOOST_TEST(got.body.find("planted") == std::string::npos, got.body);
}

namespace {

http_result keyed_post(std::uint16_t port, const std::string& target, const std::string& body,
                       const std::string& key) {
  return http_call(
      port, "POST", target, body,
      {{"Authorization", "Bearer " + server_process::test_key()}, {"Idempotency-Key", key}});
}

/// The index of the node whose owner mark `id` carries.
std::size_t owner_index(const cluster_processes& c, const std::string& id) {
  auto mark = owner_of_id(id);
  BOOST_REQUIRE(mark);
  for (std::size_t i = 0; i < c.where.ids.size(); ++i)
    if (make_owner_mark(c.where.ids[i]).value == mark->value)
      return i;
  BOOST_FAIL("no member has the mark of " + id);
  return 0;
}

} // namespace

BOOST_AUTO_TEST_CASE(an_idempotency_key_holds_through_every_node_and_its_owner_decides) {
  cluster_processes c{{"n1", "n2", "n3"}};
  auto tid = c.api(0).make_template(json::parse(template_body()));
  auto body = run_body(tid, "http://127.0.0.1:9/hook");

  // The same key through each node: one run, and the same answer from all three.
  auto first = keyed_post(c.nodes[0]->port(), "/v1/runs", body, "cluster-key-1");
  BOOST_REQUIRE_EQUAL(first.status, 201);
  for (std::size_t i : {1u, 2u}) {
    auto again = keyed_post(c.nodes[i]->port(), "/v1/runs", body, "cluster-key-1");
    BOOST_TEST(again.status == 201);
    BOOST_TEST(again.headers["idempotent-replayed"] == "true");
    BOOST_TEST(again.body == first.body);
  }
  auto other = keyed_post(c.nodes[2]->port(), "/v1/runs", run_body(tid, "http://127.0.0.1:9/x"),
                          "cluster-key-1");
  BOOST_TEST(other.error_code() == "idempotency_key_reused");
  auto tmpl = keyed_post(c.nodes[1]->port(), "/v1/templates", template_body(), "cluster-key-1");
  BOOST_TEST(tmpl.error_code() == "idempotency_key_reused");

  // Concurrent requests with a new key through all three nodes create exactly one run.
  std::vector<std::future<http_result>> answers;
  for (int round = 0; round < 2; ++round)
    for (std::size_t i = 0; i < 3; ++i)
      answers.push_back(std::async(std::launch::async, [&, i] {
        return keyed_post(c.nodes[i]->port(), "/v1/runs", body, "cluster-key-2");
      }));
  int made = 0;
  std::set<std::string> ids;
  for (auto& a : answers) {
    auto r = a.get();
    if (r.status == 201) {
      made += !r.headers.count("idempotent-replayed");
      ids.insert(std::string(r.json().at("id").as_string()));
    } else {
      BOOST_TEST(r.error_code() == "idempotency_key_in_progress");
    }
  }
  BOOST_TEST(made == 1);
  BOOST_TEST(ids.size() == 1u);

  // The run lives on the key's owner. With that node down, the key cannot be decided:
  // 503 node_unavailable through the others, and nothing is made.
  auto owner = owner_index(c, std::string(first.json().at("id").as_string()));
  c.nodes[owner]->kill9();
  auto asker = (owner + 1) % 3;
  auto down = keyed_post(c.nodes[asker]->port(), "/v1/runs", body, "cluster-key-1");
  BOOST_TEST(down.status == 503);
  BOOST_TEST(down.error_code() == "node_unavailable");
  c.start(owner);
  BOOST_REQUIRE(eventually([&] { return c.all_reachable(); }, 15s));
  auto back = keyed_post(c.nodes[asker]->port(), "/v1/runs", body, "cluster-key-1");
  BOOST_TEST(back.status == 201);
  BOOST_TEST(back.headers["idempotent-replayed"] == "true");
  // The same run; its link names the owner's new port (these nodes have no --public-url).
  BOOST_TEST(back.json().at("id") == first.json().at("id"));
}
