#include "net/http_client.hpp"

#include "net/envelope.hpp"

#include "tests/support/dns_server.hpp"
#include "tests/support/io_thread.hpp"
#include "tests/support/scripted_receiver.hpp"
#include "tests/support/server_process.hpp"

#define BOOST_TEST_MODULE http_client
#include <atomic>
#include <boost/asio/buffers_iterator.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>
#include <cctype>
#include <cmath>
#include <functional>
#include <future>
#include <mutex>
#include <sys/socket.h>
#include <thread>

using namespace rundun;
using namespace rundun::net;
using namespace std::chrono_literals;

namespace {

/// An io_context on its own thread, as the engine runs it.
struct io_fixture : test::io_thread {
  std::shared_ptr<endpoint_client> client(const std::string& u,
                                          std::chrono::milliseconds timeout = 2s,
                                          std::chrono::milliseconds idle_timeout = 30s) {
    client_options opts;
    opts.timeout = timeout;
    opts.idle_timeout = idle_timeout;
    opts.max_idle = 4;
    opts.allow_private_destinations = true; // the receivers here are on loopback
    return endpoint_client::make(io, *parse_url(u), opts);
  }
};

/// A request as the engine makes one, with a body of its own.
outgoing_request request(std::string body = "{}", std::string id = "evt-1") {
  return {std::make_shared<const std::string>(std::move(body)), std::move(id), 1700000000,
          "v1,c2lnbmF0dXJl"};
}

attempt_response post(endpoint_client& c, outgoing_request req = request()) {
  std::promise<attempt_response> p;
  auto f = p.get_future();
  c.post(std::move(req), [&p](attempt_response r) { p.set_value(std::move(r)); });
  return f.get();
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(http_client, io_fixture)

BOOST_AUTO_TEST_CASE(a_scripted_sequence_of_faults_then_success) {
  test::scripted_receiver rx{[](const test::received&, std::size_t i) {
    test::reply_plan p;
    if (i == 0)
      p.garbage = true;
    else if (i == 1)
      p.status = 500;
    else if (i == 2)
      p.hang = true;
    else
      p.status = 200;
    return p;
  }};
  auto c = client(rx.url(), 500ms);
  auto r1 = post(*c);
  BOOST_TEST(!r1.status);
  BOOST_TEST((r1.failure == failure_kind::protocol));
  BOOST_TEST(r1.error.starts_with("http: "));
  auto r2 = post(*c);
  BOOST_TEST(*r2.status == 500);
  auto r3 = post(*c);
  BOOST_TEST((r3.failure == failure_kind::timeout));
  BOOST_TEST(r3.error == "timeout");
  BOOST_TEST((r3.duration >= 450ms));
  auto r4 = post(*c);
  BOOST_TEST(*r4.status == 200);
  auto got = rx.requests();
  BOOST_REQUIRE(got.size() == 4u);
  BOOST_TEST(got[3].header("webhook-id") == "evt-1");
  BOOST_TEST(got[3].target == "/hook");
}

BOOST_AUTO_TEST_CASE(keep_alive_connections_are_reused) {
  test::scripted_receiver rx;
  auto c = client(rx.url());
  for (int i = 0; i < 5; ++i)
    BOOST_TEST(*post(*c).status == 200);
  BOOST_TEST(rx.connections() == 1u);
  BOOST_TEST(c->open_connections() == 1u);
}

BOOST_AUTO_TEST_CASE(retries_after_connection_reset_on_a_reused_socket) {
  // The receiver closes every connection right after answering, although it said keep-alive:
  // the next request finds a dead socket and must go out on a fresh one, not fail.
  test::scripted_receiver rx{[](const test::received&, std::size_t) {
    test::reply_plan p;
    p.drop = true;
    return p;
  }};
  auto c = client(rx.url());
  BOOST_TEST(*post(*c).status == 200);
  std::this_thread::sleep_for(50ms);
  BOOST_TEST(*post(*c).status == 200);
  BOOST_TEST(rx.requests().size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_refused_connection_is_a_connect_failure) {
  std::uint16_t dead_port;
  {
    test::scripted_receiver rx;
    dead_port = rx.port();
  }
  auto c = client("http://127.0.0.1:" + std::to_string(dead_port) + "/hook");
  auto r = post(*c);
  BOOST_TEST(!r.status);
  BOOST_TEST((r.failure == failure_kind::connect));
  BOOST_TEST(r.error.starts_with("connect: "));
}

BOOST_AUTO_TEST_CASE(an_unresolvable_host_is_a_dns_failure) {
  auto c = client("http://no-such-host.invalid/hook");
  auto r = post(*c);
  BOOST_TEST((r.failure == failure_kind::dns || r.failure == failure_kind::timeout));
}

BOOST_AUTO_TEST_CASE(retry_after_is_reported) {
  test::scripted_receiver rx{[](const test::received&, std::size_t) {
    test::reply_plan p;
    p.status = 429;
    p.headers = {{"Retry-After", "120"}};
    return p;
  }};
  auto c = client(rx.url());
  auto r = post(*c);
  BOOST_TEST(*r.status == 429);
  BOOST_TEST(*r.retry_after == "120");
}

BOOST_AUTO_TEST_CASE(concurrent_posts_use_parallel_connections) {
  test::scripted_receiver rx{[](const test::received&, std::size_t) {
    test::reply_plan p;
    p.delay = 200ms;
    return p;
  }};
  auto c = client(rx.url());
  std::vector<std::future<attempt_response>> futures;
  std::vector<std::shared_ptr<std::promise<attempt_response>>> promises;
  for (int i = 0; i < 4; ++i) {
    auto p = std::make_shared<std::promise<attempt_response>>();
    futures.push_back(p->get_future());
    c->post(request(), [p](attempt_response r) { p->set_value(std::move(r)); });
    promises.push_back(p);
  }
  for (auto& f : futures)
    BOOST_TEST(*f.get().status == 200);
  BOOST_TEST(rx.max_concurrent() == 4u);
}

BOOST_AUTO_TEST_CASE(loopback_is_refused_without_the_private_flag) {
  test::scripted_receiver rx;
  for (std::string host : {"127.0.0.1", "localhost", "127.1", "2130706433"}) {
    client_options opts;
    auto u = *parse_url("http://" + host + ":" + std::to_string(rx.port()) + "/hook");
    auto c = endpoint_client::make(io, u, opts);
    auto r = post(*c);
    BOOST_TEST((r.failure == failure_kind::destination_not_allowed), host);
    BOOST_TEST(r.error == "destination_not_allowed");
  }
  BOOST_TEST(rx.requests().empty());
}

BOOST_AUTO_TEST_CASE(idle_keep_alive_connections_are_closed_after_the_idle_timeout) {
  test::scripted_receiver rx;
  auto c = client(rx.url(), 2s, 200ms);
  BOOST_TEST(post(*c).status.value_or(0) == 200);
  BOOST_TEST(post(*c).status.value_or(0) == 200);
  BOOST_TEST(rx.connections() == 1u); // kept alive and reused
  BOOST_TEST(c->open_connections() == 1u);
  // Unused past the idle timeout, it is closed by the client itself, with nothing posted.
  BOOST_TEST(test::eventually([&] { return c->open_connections() == 0u; }, 5s));
  BOOST_TEST(post(*c).status.value_or(0) == 200);
  BOOST_TEST(rx.connections() == 2u); // a fresh one
}

namespace {

/// A receiver that accepts, reads the request, then answers one byte at a time, a byte every
/// `gap`: a response that never finishes in time. Counts its connections.
class dribbling_receiver {
public:
  explicit dribbling_receiver(std::chrono::milliseconds gap)
      : acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}), gap_(gap) {
    thread_ = std::thread([this] { serve(); });
  }
  ~dribbling_receiver() {
    stop_ = true;
    // A blocking accept() is not woken by closing the acceptor: connect to wake it.
    boost::system::error_code ignored;
    boost::asio::ip::tcp::socket wake{io_};
    wake.connect(acceptor_.local_endpoint(), ignored);
    thread_.join();
    for (auto& t : handlers_)
      t.join();
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + "/hook";
  }
  std::size_t connections() const { return connections_.load(); }

private:
  void serve() {
    for (;;) {
      boost::system::error_code ec;
      auto sock = std::make_shared<boost::asio::ip::tcp::socket>(io_);
      acceptor_.accept(*sock, ec);
      if (ec || stop_)
        return;
      ++connections_;
      handlers_.emplace_back([this, sock] {
        boost::asio::streambuf buf;
        boost::system::error_code ec;
        boost::asio::read_until(*sock, buf, "\r\n\r\n", ec);
        std::string reply = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        for (char ch : reply) {
          if (stop_ || ec)
            return;
          boost::asio::write(*sock, boost::asio::buffer(&ch, 1), ec);
          std::this_thread::sleep_for(gap_);
        }
      });
    }
  }

  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::chrono::milliseconds gap_;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> connections_{0};
  std::thread thread_;
  std::vector<std::thread> handlers_;
};

} // namespace

BOOST_AUTO_TEST_CASE(a_response_dribbled_a_byte_at_a_time_ends_at_the_timeout_and_is_not_reused) {
  dribbling_receiver rx{200ms}; // 40 bytes at 5 a second: 8 s, far past the timeout
  auto c = client(rx.url(), 1s);
  auto started = std::chrono::steady_clock::now();
  auto r = post(*c);
  auto took = std::chrono::steady_clock::now() - started;
  BOOST_TEST(!r.status);
  BOOST_TEST((r.failure == failure_kind::timeout));
  BOOST_TEST(r.error == "timeout");
  // The whole attempt is bounded, not each read: it ends near the timeout, not at 8 s.
  BOOST_TEST(took < 5s);
  BOOST_TEST(c->open_connections() == 0u); // closed, not kept for reuse
  auto again = post(*c);
  BOOST_TEST((again.failure == failure_kind::timeout));
  BOOST_TEST(rx.connections() == 2u); // the second attempt had a fresh connection
}

namespace {

/// A receiver on 127.0.0.1 that reads each request as bytes (head, then a Content-Length
/// body) and lets `answer` write whatever it likes back; `answer` returns whether the
/// connection goes on. Keeps every request's bytes and counts its connections.
class raw_receiver {
public:
  using answer = std::function<bool(boost::asio::ip::tcp::socket&)>;

  explicit raw_receiver(answer a)
      : acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}), answer_(std::move(a)) {
    thread_ = std::thread([this] { serve(); });
  }
  /// Answers every request with `response`, keeping the connection open.
  explicit raw_receiver(std::string response)
      : raw_receiver([response = std::move(response)](boost::asio::ip::tcp::socket& s) {
          boost::system::error_code ec;
          boost::asio::write(s, boost::asio::buffer(response), ec);
          return !ec;
        }) {}
  ~raw_receiver() {
    stop_ = true;
    boost::system::error_code ignored;
    boost::asio::ip::tcp::socket wake{io_};
    wake.connect(acceptor_.local_endpoint(), ignored);
    thread_.join();
    {
      std::lock_guard guard{mtx_};
      for (auto& s : sockets_)
        ::shutdown(s->native_handle(), SHUT_RDWR); // ends a read that waits for a request
    }
    for (auto& t : handlers_)
      t.join();
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + "/hook";
  }
  std::size_t connections() const { return connections_.load(); }
  std::vector<std::string> requests() const {
    std::lock_guard guard{mtx_};
    return requests_;
  }

private:
  static std::size_t content_length(const std::string& head) {
    std::string lower;
    for (char ch : head)
      lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    auto at = lower.find("\r\ncontent-length:");
    return at == std::string::npos ? 0 : std::stoul(head.substr(at + 17));
  }

  void serve() {
    for (;;) {
      boost::system::error_code ec;
      auto sock = std::make_shared<boost::asio::ip::tcp::socket>(io_);
      acceptor_.accept(*sock, ec);
      if (ec || stop_)
        return;
      ++connections_;
      std::lock_guard guard{mtx_};
      sockets_.push_back(sock);
      handlers_.emplace_back([this, sock] {
        boost::asio::streambuf buf;
        for (;;) {
          boost::system::error_code ec;
          auto n = boost::asio::read_until(*sock, buf, "\r\n\r\n", ec);
          if (ec || stop_)
            return;
          auto data = boost::asio::buffers_begin(buf.data());
          std::string request(data, data + static_cast<std::ptrdiff_t>(n));
          buf.consume(n);
          auto length = content_length(request);
          if (buf.size() < length)
            boost::asio::read(*sock, buf, boost::asio::transfer_exactly(length - buf.size()), ec);
          if (ec)
            return;
          data = boost::asio::buffers_begin(buf.data());
          request.append(data, data + static_cast<std::ptrdiff_t>(length));
          buf.consume(length);
          {
            std::lock_guard guard{mtx_};
            requests_.push_back(std::move(request));
          }
          if (!answer_(*sock))
            return;
        }
      });
    }
  }

  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  answer answer_;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> connections_{0};
  mutable std::mutex mtx_;
  std::vector<std::string> requests_;
  std::vector<std::shared_ptr<boost::asio::ip::tcp::socket>> sockets_;
  std::thread thread_;
  std::vector<std::thread> handlers_;
};

} // namespace

BOOST_AUTO_TEST_CASE(a_request_carries_the_endpoints_headers_and_its_own) {
  test::scripted_receiver rx;
  auto c = client(rx.url());
  BOOST_TEST(post(*c, request(R"({"a":1})", "evt-7")).status.value_or(0) == 200);
  auto got = rx.requests();
  BOOST_REQUIRE(got.size() == 1u);
  BOOST_TEST(got[0].target == "/hook");
  BOOST_TEST(got[0].header("host") == "127.0.0.1:" + std::to_string(rx.port()));
  BOOST_TEST(got[0].header("content-type") == "application/json");
  BOOST_TEST(got[0].header("user-agent") == user_agent());
  BOOST_TEST(got[0].header("webhook-id") == "evt-7");
  BOOST_TEST(got[0].header("webhook-timestamp") == "1700000000");
  BOOST_TEST(got[0].header("webhook-signature") == "v1,c2lnbmF0dXJl");
  BOOST_TEST(got[0].header("content-length") == "7");
  BOOST_TEST(got[0].body == R"({"a":1})");
}

BOOST_AUTO_TEST_CASE(a_retry_sends_the_same_shared_body_and_the_client_lets_it_go) {
  test::scripted_receiver rx;
  auto c = client(rx.url());
  auto body = std::make_shared<const std::string>(std::string(3000, 'b'));
  for (std::int64_t ts : {1700000000, 1700000060}) {
    BOOST_TEST(post(*c, {body, "evt-1", ts, "v1,c2lnbmF0dXJl"}).status.value_or(0) == 200);
  }
  auto got = rx.requests();
  BOOST_REQUIRE(got.size() == 2u);
  BOOST_TEST(got[0].body == *body);
  BOOST_TEST(got[1].body == *body);
  BOOST_TEST(got[1].header("webhook-timestamp") == "1700000060");
  BOOST_TEST(body.use_count() == 1); // no copy or reference kept after the outcome
}

BOOST_AUTO_TEST_CASE(a_line_break_in_a_header_value_is_refused_before_sending) {
  test::scripted_receiver rx;
  auto c = client(rx.url());
  auto r = post(*c, request("{}", "evt-1\r\nx-injected: 1"));
  BOOST_TEST((r.failure == failure_kind::protocol));
  BOOST_TEST(r.error ==
             "http: webhook-id and webhook-signature must be one line, got a line break");
  BOOST_TEST(rx.requests().empty());
}

BOOST_AUTO_TEST_CASE(a_response_body_is_read_and_dropped_and_the_connection_kept) {
  // A body of 20 KiB (more than the receive buffer holds), then a chunked one.
  std::string sized = "HTTP/1.1 200 OK\r\nContent-Length: 20480\r\n\r\n" + std::string(20480, 'x');
  std::string chunked = "HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "5\r\nhello\r\n0\r\n\r\n";
  std::atomic<int> n{0};
  raw_receiver rx{[&](boost::asio::ip::tcp::socket& s) {
    boost::system::error_code ec;
    boost::asio::write(s, boost::asio::buffer(n++ % 2 == 0 ? sized : chunked), ec);
    return !ec;
  }};
  auto c = client(rx.url());
  for (int i = 0; i < 4; ++i) {
    auto r = post(*c);
    BOOST_TEST(r.status.value_or(0) == (i % 2 == 0 ? 200 : 202), r.error);
  }
  BOOST_TEST(rx.connections() == 1u);
  BOOST_TEST(c->open_connections() == 1u);
}

BOOST_AUTO_TEST_CASE(a_response_body_over_the_limit_fails_and_is_not_reused) {
  raw_receiver rx{std::string("HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n")};
  auto c = client(rx.url());
  auto r = post(*c);
  BOOST_TEST(!r.status);
  BOOST_TEST((r.failure == failure_kind::protocol));
  BOOST_TEST(r.error == "http: response body too large");
  BOOST_TEST(c->open_connections() == 0u);
}

BOOST_AUTO_TEST_CASE(an_endless_response_body_is_cut_at_the_limit) {
  // No length: the body would end with the connection, and the receiver never ends it.
  raw_receiver rx{[](boost::asio::ip::tcp::socket& s) {
    boost::system::error_code ec;
    boost::asio::write(s, boost::asio::buffer(std::string("HTTP/1.1 200 OK\r\n\r\n")), ec);
    std::string chunk(64 << 10, 'x');
    while (!ec)
      boost::asio::write(s, boost::asio::buffer(chunk), ec);
    return false;
  }};
  auto c = client(rx.url(), 5s);
  auto r = post(*c);
  BOOST_TEST((r.failure == failure_kind::protocol));
  BOOST_TEST(r.error == "http: response body too large");
  BOOST_TEST((r.duration < 5s)); // cut by the size, not the timeout
  BOOST_TEST(c->open_connections() == 0u);
}

BOOST_AUTO_TEST_CASE(response_headers_over_the_limit_fail_the_attempt) {
  raw_receiver rx{"HTTP/1.1 200 OK\r\nx-long: " + std::string(20 << 10, 'h') +
                  "\r\nContent-Length: 0\r\n\r\n"};
  auto c = client(rx.url());
  auto r = post(*c);
  BOOST_TEST(!r.status);
  BOOST_TEST((r.failure == failure_kind::protocol));
  BOOST_TEST(r.error.starts_with("http: "), r.error);
  BOOST_TEST(c->open_connections() == 0u);
}

BOOST_AUTO_TEST_CASE(bytes_after_a_response_make_its_connection_not_reused) {
  raw_receiver rx{std::string("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nunasked")};
  auto c = client(rx.url());
  BOOST_TEST(post(*c).status.value_or(0) == 200);
  BOOST_TEST(post(*c).status.value_or(0) == 200);
  BOOST_TEST(rx.connections() == 2u);
}

BOOST_AUTO_TEST_CASE(each_attempt_on_a_reused_connection_gets_the_whole_timeout) {
  // The connection's timer was armed by the first attempt; the fourth, which hangs, starts
  // 300 ms later and must still get its full 600 ms, then end.
  constexpr auto timeout = 600ms;
  test::scripted_receiver rx{[](const test::received&, std::size_t i) {
    test::reply_plan p;
    p.hang = i == 3;
    return p;
  }};
  auto c = client(rx.url(), timeout);
  auto first = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i)
    BOOST_TEST(post(*c).status.value_or(0) == 200);
  std::this_thread::sleep_until(first + 300ms);
  auto r = post(*c);
  BOOST_TEST((r.failure == failure_kind::timeout));
  BOOST_TEST(r.error == "timeout");
  BOOST_TEST((r.duration >= timeout - 50ms), r.duration.count() << " ms");
  BOOST_TEST((r.duration < timeout + 1s), r.duration.count() << " ms");
  BOOST_TEST(rx.connections() == 1u); // the hanging request went out on the kept connection
  BOOST_TEST(c->open_connections() == 0u);
}

namespace {

/// A resolver that asks only `dns`, to be shared by clients as an engine shares one.
std::shared_ptr<resolver> resolver_for(boost::asio::io_context& io, const test::dns_server& dns) {
  resolver_options opts;
  opts.servers = dns.address();
  return *resolver::make(io, opts);
}

/// The nearest-rank percentile `p` (0..100) of `samples`.
std::chrono::milliseconds percentile(std::vector<std::chrono::milliseconds> samples, double p) {
  std::sort(samples.begin(), samples.end());
  auto rank = static_cast<std::size_t>(std::ceil(p / 100 * static_cast<double>(samples.size())));
  return samples[std::max<std::size_t>(rank, 1) - 1];
}

} // namespace

BOOST_AUTO_TEST_CASE(a_name_server_that_does_not_answer_holds_only_its_own_endpoint) {
  // The issue: 16 attempts to a host whose name server does not answer stalled every other
  // endpoint that needed a new connection. Here 20 deliveries to such a host go first, then
  // 30 to five names that resolve and to an IP literal, all through one shared resolver.
  constexpr auto timeout = 2s;
  constexpr int slow_deliveries = 20;
  constexpr int deliveries_per_destination = 5;
  test::dns_server dns;
  dns.ignore("slow.test");
  std::vector<std::string> hosts{"one.test", "two.test", "three.test", "four.test", "five.test"};
  for (auto& h : hosts)
    dns.add(h, "127.0.0.1");
  hosts.push_back("127.0.0.1");
  test::scripted_receiver rx;
  auto shared = resolver_for(io, dns);
  auto client_for = [&](const std::string& host) {
    client_options opts;
    opts.timeout = timeout;
    opts.allow_private_destinations = true; // the receiver is on loopback
    opts.resolver = shared;
    return endpoint_client::make(io, *parse_url(rx.url("/hook", host)), opts);
  };

  using outcome = std::pair<attempt_response, std::chrono::milliseconds>;
  auto send = [](endpoint_client& c) {
    auto p = std::make_shared<std::promise<outcome>>();
    auto f = p->get_future();
    auto began = std::chrono::steady_clock::now();
    c.post(request(), [p, began](attempt_response r) {
      p->set_value({std::move(r), std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::steady_clock::now() - began)});
    });
    return f;
  };
  auto slow_client = client_for("slow.test");
  std::vector<std::future<outcome>> slow, others;
  for (int i = 0; i < slow_deliveries; ++i)
    slow.push_back(send(*slow_client));
  std::vector<std::shared_ptr<endpoint_client>> clients;
  for (auto& h : hosts)
    clients.push_back(client_for(h));
  for (int i = 0; i < deliveries_per_destination; ++i)
    for (auto& c : clients)
      others.push_back(send(*c));

  std::vector<std::chrono::milliseconds> latencies;
  for (auto& f : others) {
    auto [r, took] = f.get();
    BOOST_TEST(r.status.value_or(0) == 200, r.error);
    latencies.push_back(took);
  }
  BOOST_TEST(rx.requests().size() == others.size());
  auto p99 = percentile(latencies, 99);
  BOOST_TEST_MESSAGE("30 deliveries beside 20 to an unanswered name: p99 " << p99.count() << " ms");
  BOOST_TEST((p99 < 1s));

  for (auto& f : slow) {
    auto [r, took] = f.get();
    BOOST_TEST(!r.status);
    BOOST_TEST((r.failure == failure_kind::timeout));
    BOOST_TEST(r.error == "dns: slow.test: no answer within the attempt's 2000 ms");
    // Each fails at its own deadline, not later.
    BOOST_TEST((r.duration >= timeout));
    BOOST_TEST((took < timeout + 1s));
  }
  BOOST_TEST(rx.requests().size() == others.size()); // none reached the receiver
  BOOST_TEST(dns.a_queries("slow.test") >= 1u);
}

BOOST_AUTO_TEST_CASE(a_private_address_answered_by_dns_is_refused) {
  test::dns_server dns;
  dns.add("loopback.test", "127.0.0.1");
  dns.add("private.test", "10.1.2.3");
  test::scripted_receiver rx;
  auto shared = resolver_for(io, dns);
  for (std::string host : {"loopback.test", "private.test"}) {
    client_options opts; // no allow_private_destinations
    opts.resolver = shared;
    auto c = endpoint_client::make(io, *parse_url(rx.url("/hook", host)), opts);
    auto r = post(*c);
    BOOST_TEST((r.failure == failure_kind::destination_not_allowed), host);
    BOOST_TEST(r.error == "destination_not_allowed");
  }
  BOOST_TEST(rx.requests().empty());
}

BOOST_AUTO_TEST_CASE(an_unknown_name_fails_with_an_error_naming_the_host) {
  test::dns_server dns;
  client_options opts;
  opts.allow_private_destinations = true;
  opts.dns.servers = dns.address(); // the client's own resolver
  auto c = endpoint_client::make(io, *parse_url("http://nosuch.test/hook"), opts);
  auto r = post(*c);
  BOOST_TEST((r.failure == failure_kind::dns));
  BOOST_TEST(r.error == "dns: nosuch.test: host not found");
}

BOOST_AUTO_TEST_CASE(a_malformed_name_server_list_fails_each_attempt_clearly) {
  client_options opts;
  opts.dns.servers = "not a server";
  auto c = endpoint_client::make(io, *parse_url("http://one.test/hook"), opts);
  auto r = post(*c);
  BOOST_TEST((r.failure == failure_kind::dns));
  BOOST_TEST(r.error == "dns: one.test: name servers must be a comma-separated list of ip:port");
}

BOOST_AUTO_TEST_SUITE_END()
