#include "net/http_server.hpp"

#define BOOST_TEST_MODULE http_server
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/test/unit_test.hpp>
#include <sys/socket.h>
#include <thread>

using namespace rundun::net;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

/// The bytes of request bodies the fixture's server holds at once: one body of /big's 4 MiB,
/// not two.
constexpr std::uint64_t held_body_cap = std::uint64_t{5} << 20;

/// A server with small limits, echoing each request's target in its body. Its screen refuses
/// the target /screened with a 401 (the body "screened") and counts what it is shown.
struct server_fixture {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::unique_ptr<http_server> server;
  std::thread thread;
  std::vector<responder> forgotten; ///< touched on the io thread only
  std::atomic<int> screened{0};     ///< requests the screen was shown
  std::atomic<int> handled{0};      ///< requests the handler was given

  server_fixture() {
    server_options opts;
    opts.host = "127.0.0.1";
    opts.port = 0;
    opts.header_timeout = 300ms;
    // Long enough that a body a test holds back on purpose is still awaited on a busy machine.
    opts.read_timeout = 5s;
    opts.max_connections = 3;
    opts.max_header_bytes = 1024;
    // A route with a larger limit than Beast's default of 1 MiB, as photos have.
    opts.body_limit = [](std::string_view target) {
      return target == "/big" ? std::uint64_t{4} << 20 : std::uint64_t{64};
    };
    opts.linger_bytes = 4 << 20;
    opts.handler_timeout = 500ms;
    opts.linger_timeout = 5s;
    opts.error_response = [](unsigned status, std::string code, std::string) {
      http_response res{static_cast<http::status>(status), 11};
      res.body() = code;
      return res;
    };
    opts.max_held_body_bytes = held_body_cap;
    opts.screen = [this](const request_header& h) -> std::optional<http_response> {
      ++screened;
      if (h.target() != "/screened")
        return std::nullopt;
      http_response res{http::status::unauthorized, 11};
      res.body() = "screened";
      return res;
    };
    server = std::move(*http_server::start(io, opts, [this](http_request&& req, responder respond) {
      ++handled;
      if (req.target() == "/never") {
        forgotten.push_back(std::move(respond)); // a bug: never answered (until the end)
        return;
      }
      http_response res{http::status::ok, 11};
      res.body() = std::string(req.target());
      respond(std::move(res));
    }));
    thread = std::thread{[this] { io.run(); }};
  }

  ~server_fixture() {
    server->stop();
    work.reset();
    io.stop();
    thread.join();
  }

  tcp::socket connect() {
    tcp::socket s{io};
    s.connect({asio::ip::make_address("127.0.0.1"), server->local_endpoint().port()});
    timeval tv{10, 0}; // a bound for a broken server, far past every timeout under test
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return s;
  }

  /// Sends `bytes` and reads until the server closes (or 10 s pass).
  std::string exchange(const std::string& bytes) {
    auto s = connect();
    asio::write(s, asio::buffer(bytes));
    return read_all(s);
  }

  /// Reads until the connection ends; `closed_by_server` tells whether the server closed it
  /// (end of stream or reset), rather than the 10 s receive timeout ending the wait.
  static std::string read_all(tcp::socket& s, bool* closed_by_server = nullptr) {
    std::string out;
    char buf[4096];
    for (;;) {
      boost::system::error_code ec;
      auto n = s.read_some(asio::buffer(buf), ec);
      out.append(buf, n);
      if (ec) {
        if (closed_by_server)
          *closed_by_server = ec == asio::error::eof || ec == asio::error::connection_reset;
        return out;
      }
    }
  }
};

/// Reads one response from `s` (the 10 s receive timeout bounds the wait).
http::response<http::string_body> read_response(tcp::socket& s) {
  http::response<http::string_body> res;
  boost::beast::flat_buffer buf;
  boost::system::error_code ec;
  http::read(s, buf, res, ec);
  BOOST_TEST(!ec, ec.message());
  return res;
}

/// Polls `check` until it holds (true) or 10 s pass (false).
template <class F>
bool wait_until(F&& check) {
  auto until = std::chrono::steady_clock::now() + 10s;
  while (!check()) {
    if (std::chrono::steady_clock::now() > until)
      return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(http_server_suite, server_fixture)

BOOST_AUTO_TEST_CASE(pipelined_requests_are_answered_in_order) {
  auto out = exchange("GET /one HTTP/1.1\r\nHost: x\r\n\r\n"
                      "GET /two HTTP/1.1\r\nHost: x\r\n\r\n"
                      "GET /three HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  BOOST_TEST(count(out, "HTTP/1.1 200 OK") == 3u);
  auto one = out.find("/one"), two = out.find("/two"), three = out.find("/three");
  BOOST_TEST((one < two && two < three && three != std::string::npos));
}

BOOST_AUTO_TEST_CASE(a_client_that_dribbles_its_headers_is_cut_off) {
  // Part of the headers, more later, never the end: the server cuts the client off at its
  // 300 ms header timeout. (Closed by the server, not by our 10 s receive timeout.)
  auto s = connect();
  asio::write(s, asio::buffer(std::string("GET /slow HTTP/1.1\r\nHost: x\r\n")));
  asio::write(s, asio::buffer(std::string("X-A: 1\r\n")));
  bool closed = false;
  auto out = read_all(s, &closed);
  BOOST_TEST(closed);
  BOOST_TEST(out.find("200") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_idle_kept_alive_connection_is_closed) {
  auto s = connect();
  asio::write(s, asio::buffer(std::string("GET /a HTTP/1.1\r\nHost: x\r\n\r\n")));
  auto out = read_all(s);
  BOOST_TEST(count(out, "200 OK") == 1u); // then the server closed the idle connection
}

BOOST_AUTO_TEST_CASE(a_body_over_the_limit_is_413_before_it_is_read) {
  auto out = exchange("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nabc");
  BOOST_TEST(out.starts_with("HTTP/1.1 413"));
  BOOST_TEST(out.find("body_too_large") != std::string::npos);
  auto chunked = exchange("POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "64\r\n" +
                          std::string(100, 'a') + "\r\n0\r\n\r\n");
  BOOST_TEST(chunked.starts_with("HTTP/1.1 413"));
}

BOOST_AUTO_TEST_CASE(a_body_over_one_mib_is_taken_where_the_routes_limit_allows_it) {
  // Beast checks a request's Content-Length against the parser's limit (1 MiB by default)
  // while it reads the header, before the route's own limit is known: photos of 1 to 10 MiB
  // were refused 413.
  std::string body(2 << 20, 'x');
  auto out =
      exchange("POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
               "\r\nConnection: close\r\n\r\n" + body);
  BOOST_TEST(out.starts_with("HTTP/1.1 200"), out.substr(0, 200));
  auto over = exchange(
      "POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(5 << 20) + "\r\n\r\n");
  BOOST_TEST(over.starts_with("HTTP/1.1 413"));
}

BOOST_AUTO_TEST_CASE(a_client_that_sends_its_whole_body_before_reading_gets_the_413) {
  // As Node's fetch and curl --data-binary do: the whole 2 MiB body, then the response. The
  // server answers 413 after the headers; closing then would reset the connection under the
  // client's write. It reads and drops the rest instead, so every write succeeds.
  auto s = connect();
  std::string body(2 << 20, 'x');
  std::string head =
      "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  boost::system::error_code ec;
  asio::write(s, asio::buffer(head), ec);
  BOOST_TEST(!ec);
  asio::write(s, asio::buffer(body), ec);
  BOOST_TEST(!ec, "writing the body failed: " << ec.message());
  auto out = read_all(s);
  BOOST_TEST(out.starts_with("HTTP/1.1 413"));
  BOOST_TEST(out.find("body_too_large") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(lingering_is_bounded_by_bytes) {
  // A client that never stops sending is cut off once it has sent the linger budget (4 MiB
  // here) past the answer.
  auto s = connect();
  std::string head = "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n";
  asio::write(s, asio::buffer(head));
  std::string chunk(1 << 20, 'x');
  boost::system::error_code ec;
  std::size_t sent = 0;
  while (!ec && sent < (64u << 20)) {
    asio::write(s, asio::buffer(chunk), ec);
    if (!ec)
      sent += chunk.size();
  }
  BOOST_TEST(ec); // reset or broken pipe: the server closed
  BOOST_TEST(sent < (64u << 20));
}

BOOST_AUTO_TEST_CASE(a_request_its_handler_never_answers_gets_a_500_at_the_deadline) {
  auto s = connect();
  asio::write(s, asio::buffer(std::string("GET /never HTTP/1.1\r\nHost: x\r\n\r\n")));
  http::response<http::string_body> res;
  boost::beast::flat_buffer buf;
  boost::system::error_code ec;
  http::read(s, buf, res, ec); // the receive timeout (10 s) would end a wait with no answer
  BOOST_TEST(!ec, ec.message());
  BOOST_TEST(res.result_int() == 500u);
  BOOST_TEST(res.body() == "handler_timeout");
  // The connection goes on: the next request is answered as usual.
  asio::write(s, asio::buffer(std::string("GET /next HTTP/1.1\r\nHost: x\r\n\r\n")));
  http::response<http::string_body> next;
  http::read(s, buf, next, ec);
  BOOST_TEST(!ec, ec.message());
  BOOST_TEST(next.body() == "/next");
}

BOOST_AUTO_TEST_CASE(headers_over_the_limit_are_431) {
  auto out =
      exchange("GET /x HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n");
  BOOST_TEST(out.starts_with("HTTP/1.1 431"));
}

BOOST_AUTO_TEST_CASE(malformed_http_is_400) {
  auto out = exchange("THIS IS NOT HTTP\r\n\r\n");
  BOOST_TEST(out.starts_with("HTTP/1.1 400"));
}

BOOST_AUTO_TEST_CASE(connections_over_the_cap_are_refused) {
  std::vector<tcp::socket> held;
  for (int i = 0; i < 3; ++i)
    held.push_back(connect());
  BOOST_REQUIRE(wait_until([&] { return server->open_connections() == 3u; }));
  auto s = connect();
  auto out = read_all(s);
  BOOST_TEST(out.starts_with("HTTP/1.1 503"));
  BOOST_TEST(out.find("too_many_connections") != std::string::npos);
  held.clear();
  BOOST_REQUIRE(wait_until([&] { return server->open_connections() == 0u; }));
  BOOST_TEST(exchange("GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                 .starts_with("HTTP/1.1 200"));
}

BOOST_AUTO_TEST_CASE(a_screened_request_is_answered_before_its_body_and_the_connection_closed) {
  // The headers of a 1 MiB upload, and no body: the screen's answer comes anyway, the
  // connection is closed after it, and the handler never sees the request.
  auto s = connect();
  asio::write(s, asio::buffer(std::string("POST /screened HTTP/1.1\r\nHost: x\r\n"
                                          "Content-Length: 1048576\r\n\r\n")));
  auto res = read_response(s);
  BOOST_TEST(res.result_int() == 401u);
  BOOST_TEST(res.body() == "screened");
  BOOST_TEST(!res.keep_alive());
  bool closed = false;
  auto rest = read_all(s, &closed);
  BOOST_TEST(closed);
  BOOST_TEST(rest.empty());
  BOOST_TEST(screened.load() == 1);
  BOOST_TEST(handled.load() == 0);
  BOOST_TEST(server->held_body_bytes() == 0u);
}

BOOST_AUTO_TEST_CASE(a_client_that_sends_its_whole_body_before_reading_gets_the_screens_answer) {
  // The body arrives before the client reads: it is dropped unread, and the answer is not
  // lost to a reset.
  auto s = connect();
  std::string body(2 << 20, 'x');
  boost::system::error_code ec;
  asio::write(s,
              asio::buffer("POST /screened HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n" + body),
              ec);
  BOOST_TEST(!ec, "writing the body failed: " << ec.message());
  auto out = read_all(s);
  BOOST_TEST(out.starts_with("HTTP/1.1 401"));
  BOOST_TEST(handled.load() == 0);
}

BOOST_AUTO_TEST_CASE(a_request_without_a_body_is_not_screened) {
  auto out = exchange("GET /screened HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  BOOST_TEST(out.starts_with("HTTP/1.1 200"));
  BOOST_TEST(screened.load() == 0);
}

BOOST_AUTO_TEST_CASE(a_body_past_the_servers_cap_is_503_until_the_held_ones_are_answered) {
  // The first upload announces 4 MiB and holds it while its body is awaited; a second one
  // would pass the 5 MiB cap, and is refused before its body with a Retry-After.
  std::string body(4 << 20, 'x');
  auto head = "POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
              "\r\n\r\n";
  auto first = connect();
  asio::write(first, asio::buffer(head));
  BOOST_REQUIRE(wait_until([&] { return server->held_body_bytes() == body.size(); }));
  auto second = connect();
  asio::write(second, asio::buffer(head));
  auto refused = read_response(second);
  BOOST_TEST(refused.result_int() == 503u);
  BOOST_TEST(refused.body() == "overloaded");
  BOOST_TEST(refused[http::field::retry_after] == "1");
  BOOST_TEST(!refused.keep_alive());
  // A small body still fits beside the held one.
  BOOST_TEST(exchange("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                      "Connection: close\r\n\r\nab")
                 .starts_with("HTTP/1.1 200"));
  // Once the first is answered, its bytes are free again, and the retry goes through.
  asio::write(first, asio::buffer(body));
  BOOST_TEST(read_response(first).result_int() == 200u);
  BOOST_TEST(server->held_body_bytes() == 0u);
  auto retry = connect();
  asio::write(retry, asio::buffer(head + body));
  BOOST_TEST(read_response(retry).result_int() == 200u);
}

BOOST_AUTO_TEST_CASE(a_chunked_body_holds_its_targets_limit_until_its_connection_closes) {
  // Its length is unknown until its end: it holds what it may grow to, /big's 4 MiB.
  {
    auto s = connect();
    asio::write(s, asio::buffer(std::string(
                       "POST /big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")));
    BOOST_REQUIRE(wait_until([&] { return server->held_body_bytes() == (4u << 20); }));
  } // the client goes away mid-body
  BOOST_TEST(wait_until([&] { return server->held_body_bytes() == 0u; }));
}

BOOST_AUTO_TEST_SUITE_END()
