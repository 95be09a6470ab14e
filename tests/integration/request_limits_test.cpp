// Request bodies through a real rundund: refused on their headers (no key, an unknown link)
// before they are read, and held within the server's cap on bodies at once (contract §3).

#include "tests/support/images.hpp"
#include "tests/support/prometheus_text.hpp"
#include "tests/support/server_process.hpp"

#define BOOST_TEST_MODULE request_limits
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <fstream>
#include <sys/socket.h>
#include <thread>

using namespace rundun::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

namespace {

/// A photo's size at its limit.
constexpr std::size_t photo_limit = std::size_t{10} << 20;
/// The uploads at once of the memory test: 640 MiB of bodies, were they read.
constexpr int concurrent_uploads = 64;
/// How much the server's memory may grow while it refuses them all.
constexpr long long rss_growth_allowed = 64LL << 20;
/// The pieces a client sends its body in, once it has its answer.
constexpr std::size_t body_piece = std::size_t{1} << 20;
/// A link token of the right shape that no run has.
const std::string unknown_token(43, 'A');

/// A kernel figure of /proc/<pid>/status, in bytes (`VmRSS`, `VmHWM`); -1 when absent.
long long proc_status_bytes(pid_t pid, const std::string& field) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.starts_with(field + ":"))
      return std::stoll(line.substr(field.size() + 1)) * 1024; // "VmRSS:   1234 kB"
  return -1;
}

/// A client connection written to and read by hand, so that a test can send the headers of a
/// request, read its answer, and only then (try to) send its body.
struct raw_client {
  asio::io_context io;
  tcp::socket socket{io};
  boost::beast::flat_buffer buffer;

  explicit raw_client(std::uint16_t port) {
    socket.connect({asio::ip::make_address("127.0.0.1"), port});
    timeval tv{20, 0}; // a bound for a server that never answers
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }

  /// Sends `bytes`; false when the server has closed the connection.
  bool send(const std::string& bytes) {
    boost::system::error_code ec;
    asio::write(socket, asio::buffer(bytes), ec);
    return !ec;
  }

  /// The next response; a status of 0 when none came (a close or the 20 s bound).
  http::response<http::string_body> read() {
    http::response<http::string_body> res;
    boost::system::error_code ec;
    http::read(socket, buffer, res, ec);
    if (ec)
      res.result(0);
    return res;
  }

  /// The body of a `body_bytes` long upload, sent piece by piece while the server takes it.
  void send_body(std::size_t body_bytes) {
    std::string piece(body_piece, 'x');
    for (std::size_t sent = 0; sent < body_bytes; sent += piece.size())
      if (!send(piece.substr(0, std::min(piece.size(), body_bytes - sent))))
        return;
  }
};

std::string upload_head(const std::string& link_path, std::size_t bytes) {
  return "POST " + link_path +
         "/steps/door/photos HTTP/1.1\r\nHost: 127.0.0.1\r\n"
         "Content-Type: image/jpeg\r\nContent-Length: " +
         std::to_string(bytes) + "\r\n\r\n";
}

std::string error_code_of(const http::response<http::string_body>& res) {
  boost::system::error_code ec;
  auto v = json::parse(res.body(), ec);
  if (ec || !v.is_object() || !v.as_object().contains("error"))
    return "";
  return std::string(v.at("error").at("code").as_string());
}

double held_body_bytes(const server_process& server) {
  auto scrape = http_call(server.port(), "GET", "/metrics");
  return parse_prometheus_text(scrape.body).value("rundun_request_body_bytes_held");
}

/// A run with a photo step: its id and the path of its link.
std::pair<std::string, std::string> make_photo_run(const api_client& api) {
  auto t = api.make_template(json::parse(R"({"name":"Photos","steps":[
      {"id":"door","title":"Photo of the door","photos_required":1}]})"));
  auto run = api.make_run(json::parse(R"({"template_id":")" + t + R"("})"));
  return {std::string(run.at("id").as_string()),
          link_path(std::string(run.at("link").as_string()))};
}

} // namespace

BOOST_AUTO_TEST_SUITE(request_limits)

BOOST_AUTO_TEST_CASE(uploads_to_an_unknown_link_are_404_before_their_bodies_and_memory_stays_flat) {
  temp_dir dir;
  server_process server{dir.str()};
  auto rss_before = proc_status_bytes(server.pid(), "VmRSS");
  BOOST_TEST_REQUIRE(rss_before > 0);
  long long rss_during = 0;
  std::atomic<bool> done{false};
  std::thread sampler{[&] {
    while (!done) {
      rss_during = std::max(rss_during, proc_status_bytes(server.pid(), "VmRSS"));
      std::this_thread::sleep_for(5ms);
    }
  }};

  // 64 clients at once, each with the headers of a 10 MiB photo. With `answer_first`, each
  // reads its answer before it sends a byte of its body, then tries to send it in 1 MiB
  // pieces; without, each sends the whole body at once, as most clients do, then reads.
  auto upload_all = [&](bool answer_first) {
    std::atomic<int> not_found{0};
    std::atomic<int> closing{0};
    std::vector<std::thread> clients;
    for (int i = 0; i < concurrent_uploads; ++i)
      clients.emplace_back([&] {
        raw_client c{server.port()};
        if (!c.send(upload_head("/r/" + unknown_token, photo_limit)))
          return;
        if (!answer_first)
          c.send_body(photo_limit);
        auto res = c.read();
        if (res.result_int() == 404 && error_code_of(res) == "link_not_found")
          ++not_found;
        if (!res.keep_alive())
          ++closing;
        if (answer_first)
          c.send_body(photo_limit);
      });
    for (auto& t : clients)
      t.join();
    BOOST_TEST(not_found.load() == concurrent_uploads, "answer_first " << answer_first);
    BOOST_TEST(closing.load() == concurrent_uploads, "answer_first " << answer_first);
  };
  upload_all(true);
  upload_all(false);

  done = true;
  sampler.join();
  auto rss_after = proc_status_bytes(server.pid(), "VmRSS");
  auto peak = proc_status_bytes(server.pid(), "VmHWM");
  BOOST_TEST_MESSAGE("VmRSS before " << rss_before / 1024 << " KiB, highest sampled during "
                                     << rss_during / 1024 << " KiB, after " << rss_after / 1024
                                     << " KiB; VmHWM " << peak / 1024 << " KiB");
  BOOST_TEST(rss_during - rss_before < rss_growth_allowed);
  BOOST_TEST(peak - rss_before < rss_growth_allowed);
  // Nothing is held afterwards, and the server serves on.
  BOOST_TEST(held_body_bytes(server) == 0);
  BOOST_TEST(http_call(server.port(), "GET", "/healthz").status == 200);
}

BOOST_AUTO_TEST_CASE(a_v1_body_without_the_key_is_401_before_it_is_sent) {
  temp_dir dir;
  server_process server{dir.str()};
  constexpr std::size_t api_body_limit = std::size_t{1} << 20;
  for (std::string auth : {"", "Authorization: Bearer not-the-key\r\n"}) {
    raw_client c{server.port()};
    BOOST_REQUIRE(c.send("POST /v1/runs HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth +
                         "Content-Type: application/json\r\nContent-Length: " +
                         std::to_string(api_body_limit) + "\r\n\r\n"));
    auto res = c.read();
    BOOST_TEST(res.result_int() == 401u, auth);
    BOOST_TEST(error_code_of(res) == "unauthorized");
    BOOST_TEST(res[http::field::www_authenticate] == "Bearer");
    BOOST_TEST(!res.keep_alive());
  }
  // With the key, the same body is read and routed (a run of no template: 404).
  raw_client c{server.port()};
  std::string body(api_body_limit, ' ');
  body.replace(0, 22, R"({"template_id":"t-no"})");
  BOOST_REQUIRE(c.send("POST /v1/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                       server_process::test_key() +
                       "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body));
  auto res = c.read();
  BOOST_TEST(res.result_int() == 404u);
  BOOST_TEST(error_code_of(res) == "template_not_found");
}

BOOST_AUTO_TEST_CASE(uploads_past_the_cap_on_held_bodies_are_503_and_go_through_when_retried) {
  // A cap of two and a half photos: two uploads at once are held, a third is refused.
  auto photo = make_jpeg(quadrants(64, 48));
  temp_dir dir;
  server_process server{
      dir.str(), {}, true, {{"RUNDUN_TEST_BODY_BYTES_CAP", std::to_string(photo.size() * 5 / 2)}}};
  auto api = server.api();
  auto [run_id, link] = make_photo_run(api);

  raw_client first{server.port()}, second{server.port()};
  BOOST_REQUIRE(first.send(upload_head(link, photo.size())));
  BOOST_REQUIRE(second.send(upload_head(link, photo.size())));
  BOOST_REQUIRE(eventually([&] { return held_body_bytes(server) == 2.0 * photo.size(); }));

  raw_client third{server.port()};
  BOOST_REQUIRE(third.send(upload_head(link, photo.size())));
  auto refused = third.read();
  BOOST_TEST(refused.result_int() == 503u);
  BOOST_TEST(error_code_of(refused) == "overloaded");
  BOOST_TEST(refused[http::field::retry_after] == "1");
  BOOST_TEST(!refused.keep_alive());

  // The held ones finish, and their bytes are free again.
  for (auto* c : {&first, &second}) {
    BOOST_REQUIRE(c->send(photo));
    auto res = c->read();
    BOOST_TEST(res.result_int() == 201u, res.body());
  }
  BOOST_TEST(eventually([&] { return held_body_bytes(server) == 0; }));
  // The refused upload, sent again, goes through; it changed nothing the first time.
  auto retried = http_call(server.port(), "POST", link + "/steps/door/photos", photo,
                           {{"Content-Type", "image/jpeg"}});
  BOOST_TEST(retried.status == 201, retried.body);
  auto run = api.get("/v1/runs/" + run_id).json();
  BOOST_TEST(run.at("steps").at(0).at("photos").as_array().size() == 3u);
}

BOOST_AUTO_TEST_SUITE_END()
