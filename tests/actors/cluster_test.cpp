#include "actors/cluster.hpp"

#define BOOST_TEST_MODULE cluster
#include <boost/test/unit_test.hpp>

#include "tests/support/server_process.hpp"
#include "tests/support/test_pki.hpp"
#include "tests/support/two_members.hpp"

#include <fstream>
#include <future>

// Two cluster nodes in one process, each with its own actor system, talking through CAF's
// real middleman on loopback: every message type of the cluster crosses a real connection
// (CAF drops an unregistered type quietly, so only this proves they are registered).

using namespace rundun;
using rundun::test::two_members;
using namespace std::chrono_literals;

namespace {

/// A node whose router answers with its own id and the request it saw.
std::unique_ptr<cluster::node> start(const std::string& id,
                                     const std::vector<cluster::member>& members,
                                     std::optional<cluster::tls_files> tls = {}) {
  cluster::options o;
  o.node_id = id;
  o.members = members;
  o.tls = tls;
  o.reconnect_max = 200ms;
  auto n = cluster::node::start(
      o,
      [id](cluster::forwarded_request req, std::function<void(cluster::forwarded_response)> done) {
        done({201,
              {{"X-Node", id}, {"Content-Type", "text/plain"}},
              req.method + " " + req.target + " " + req.body + " " +
                  (req.headers.empty() ? "" : req.headers[0].first + "=" + req.headers[0].second)});
      },
      [id](read_request req, std::function<void(read_answer)> done) {
        // Echoes every field back, so that each crosses the wire both ways.
        read_answer a;
        if (req.key == "t-missing") {
          a.error_code = "template_not_found";
          a.error = error_kind::not_found;
          a.error_message = "no template has this id";
          return done(std::move(a));
        }
        a.records = {std::to_string(static_cast<int>(req.kind)), req.key, req.photo, id};
        a.content_type = "image/png";
        a.bytes = std::string("\0\x89PNG\xff", 6);
        done(std::move(a));
      });
  BOOST_REQUIRE(n);
  return std::move(*n);
}

template <class Answer>
std::optional<Answer> wait(std::future<std::optional<Answer>> f) {
  BOOST_REQUIRE(f.wait_for(10s) == std::future_status::ready);
  return f.get();
}

bool reachable(const cluster::node& n, const std::string& peer) {
  for (auto& m : n.states())
    if (m.id == peer)
      return m.reachable;
  return false;
}

template <class F>
bool eventually(F&& f, std::chrono::milliseconds limit = 10s) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (!f()) {
    if (std::chrono::steady_clock::now() > until)
      return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_request_crosses_to_its_owner_and_its_answer_comes_back_whole) {
  auto members = two_members();
  auto a = start("a", members);
  auto b = start("b", members);
  BOOST_REQUIRE(eventually([&] { return reachable(*a, "b"); }));
  std::promise<std::optional<cluster::forwarded_response>> p;
  a->forward("b", {"POST", "/r/tok/submit", {{"Authorization", "Bearer k"}}, "{}"},
             [&](auto answer) { p.set_value(std::move(answer)); });
  auto answer = wait(p.get_future());
  BOOST_REQUIRE(answer);
  BOOST_TEST(answer->status == 201u);
  BOOST_TEST(answer->body == "POST /r/tok/submit {} Authorization=Bearer k");
  BOOST_REQUIRE(answer->headers.size() == 2u);
  BOOST_TEST(answer->headers[0].second == "b");
  BOOST_TEST(a->counters().answered.load() == 1u);
}

BOOST_AUTO_TEST_CASE(a_query_crosses_to_its_owner_with_every_field) {
  auto members = two_members();
  auto a = start("a", members);
  auto b = start("b", members);
  BOOST_REQUIRE(eventually([&] { return reachable(*b, "a"); }));
  std::promise<std::optional<read_answer>> found, missing;
  b->read("a", {read_kind::photo_thumbnail, "tok", "p-1"},
          [&](auto answer) { found.set_value(std::move(answer)); });
  b->read("a", {read_kind::template_record, "t-missing", ""},
          [&](auto answer) { missing.set_value(std::move(answer)); });
  auto f = wait(found.get_future());
  BOOST_REQUIRE(f);
  BOOST_TEST(f->error_code.empty());
  BOOST_TEST((f->records == std::vector<std::string>{"5", "tok", "p-1", "a"}));
  BOOST_TEST(f->content_type == "image/png");
  BOOST_TEST(f->bytes == std::string("\0\x89PNG\xff", 6));
  auto m = wait(missing.get_future());
  BOOST_REQUIRE(m);
  BOOST_TEST(m->error_code == "template_not_found");
  BOOST_TEST((m->error == error_kind::not_found));
  BOOST_TEST(m->error_message == "no template has this id");
  BOOST_TEST(b->counters().answered.load() == 2u);
}

BOOST_AUTO_TEST_CASE(a_node_that_is_gone_answers_none_at_once_and_is_dialled_again) {
  auto members = two_members();
  auto a = start("a", members);
  auto b = start("b", members);
  BOOST_REQUIRE(eventually([&] { return reachable(*a, "b"); }));
  b.reset(); // its connections close
  BOOST_REQUIRE(eventually([&] { return !reachable(*a, "b"); }, 5s));
  std::promise<std::optional<cluster::forwarded_response>> p;
  auto asked = std::chrono::steady_clock::now();
  a->forward("b", {"GET", "/v1/runs/x", {}, ""},
             [&](auto answer) { p.set_value(std::move(answer)); });
  BOOST_TEST(!wait(p.get_future()));
  BOOST_TEST((std::chrono::steady_clock::now() - asked < 2s)); // the contract's bound
  BOOST_TEST(a->counters().unavailable.load() == 1u);

  b = start("b", members); // back, on the same port
  BOOST_REQUIRE(eventually([&] { return reachable(*a, "b"); }));
  std::promise<std::optional<cluster::forwarded_response>> again;
  a->forward("b", {"GET", "/v1/runs/x", {}, ""},
             [&](auto answer) { again.set_value(std::move(answer)); });
  BOOST_TEST(wait(again.get_future()).has_value());
}

BOOST_AUTO_TEST_CASE(stopping_a_node_answers_what_it_still_waits_for) {
  auto members = two_members();
  auto a = start("a", members);
  std::promise<std::optional<cluster::forwarded_response>> p;
  std::promise<std::optional<read_answer>> q;
  a->forward("b", {"GET", "/", {}, ""}, [&](auto answer) { p.set_value(std::move(answer)); });
  a->read("b", {read_kind::run, "r-x", ""}, [&](auto answer) { q.set_value(std::move(answer)); });
  a->stop();
  BOOST_TEST(!wait(p.get_future()));
  BOOST_TEST(!wait(q.get_future()));
  BOOST_TEST(a->counters().unavailable.load() == 2u);
}

namespace {

/// Certificates from one test CA, naming whichever node the test says, as --cluster-* files.
struct cluster_certificates {
  test::temp_dir dir;
  test::test_ca ca;

  std::string write(const std::string& name, const std::string& pem) const {
    auto path = (dir.path() / name).string();
    std::ofstream{path} << pem;
    return path;
  }
  /// Files whose certificate names `names_node`.
  cluster::tls_files naming(const std::string& names_node) const {
    auto t = ca.issue({names_node}, {"127.0.0.1"}, -1, 30, "serverAuth,clientAuth");
    return {write(names_node + ".crt", t.cert_pem), write(names_node + ".key", t.key_pem),
            write("ca.pem", ca.cert_pem())};
  }
};

std::uint64_t refused(const cluster::node& n, std::string_view reason) {
  auto& r = n.refusals();
  for (std::size_t i = 0; i < r.reasons.size(); ++i)
    if (r.reasons[i] == reason)
      return r.counts[i].load();
  return 0;
}

} // namespace

BOOST_AUTO_TEST_CASE(requests_cross_over_mutual_tls) {
  cluster_certificates certs;
  auto members = two_members();
  auto a = start("a", members, certs.naming("a"));
  auto b = start("b", members, certs.naming("b"));
  BOOST_REQUIRE(eventually([&] { return reachable(*a, "b") && reachable(*b, "a"); }));
  std::promise<std::optional<cluster::forwarded_response>> p;
  a->forward("b", {"GET", "/v1/runs/x", {}, ""},
             [&](auto answer) { p.set_value(std::move(answer)); });
  auto answer = wait(p.get_future());
  BOOST_REQUIRE(answer);
  BOOST_TEST(answer->body == "GET /v1/runs/x  ");
  BOOST_TEST(refused(*a, "wrong_node") + refused(*b, "wrong_node") == 0u);
}

BOOST_AUTO_TEST_CASE(a_node_at_a_members_address_with_another_members_certificate_is_refused) {
  // "b" is an impostor: its certificate (from the cluster's CA) names "c". "a" dials it,
  // and its welcome does not prove "b": "a" never counts "b" connected, and nothing it
  // forwards reaches the impostor.
  cluster_certificates certs;
  auto members = two_members();
  auto a = start("a", members, certs.naming("a"));
  auto impostor = start("b", members, certs.naming("c"));
  BOOST_REQUIRE(eventually([&] { return refused(*a, "wrong_node") >= 2; }));
  BOOST_TEST(!reachable(*a, "b"));
  std::promise<std::optional<cluster::forwarded_response>> p;
  a->forward("b", {"GET", "/v1/runs/x", {{"Authorization", "Bearer key"}}, ""},
             [&](auto answer) { p.set_value(std::move(answer)); });
  BOOST_TEST(!wait(p.get_future()));
}

BOOST_AUTO_TEST_CASE(a_hello_that_claims_another_member_is_refused) {
  // The impostor says hello to "b" as "a", with a certificate that names "c": "b" refuses
  // the hello, so its requests for "a" never go to the impostor.
  cluster_certificates certs;
  auto members = two_members();
  auto b = start("b", members, certs.naming("b"));
  auto impostor = start("a", members, certs.naming("c"));
  BOOST_REQUIRE(eventually([&] { return refused(*b, "wrong_node") >= 2; }));
  BOOST_TEST(!reachable(*b, "a"));
  std::promise<std::optional<cluster::forwarded_response>> p;
  b->forward("a", {"GET", "/v1/runs/x", {}, ""},
             [&](auto answer) { p.set_value(std::move(answer)); });
  BOOST_TEST(!wait(p.get_future()));
}
