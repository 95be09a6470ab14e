// A webhook receiver for Rundun, in C++ with Beast and the project's own verifier.
//
//   RUNDUN_WEBHOOK_SECRET=whsec_... ./cpp_receiver [HOST:PORT]
//
// It verifies each delivery's Standard Webhooks signature, answers 200 at once, and hands
// each new event to the work below (here: one JSON line on stdout). Deliveries are at least
// once, so it deduplicates by event_id: a second delivery of an event is answered 200 and
// dropped. A real receiver keeps the seen ids in its database (a unique key), not in memory.

#include "net/webhook_verifier.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <unordered_set>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t max_body = 16 << 20; // a step.completed with 20 thumbnails fits
constexpr auto read_timeout = std::chrono::seconds{30};

/// What the receiver knows across connections. One io thread: no locks needed.
struct receiver_state {
  rundun::net::webhook_verifier verifier;
  std::unordered_set<std::string> seen;
};

/// The application's work for a new event. Keep the HTTP answer fast: queue real work.
void handle_event(const json::object& event) {
  std::cout << json::serialize(json::object{{"event_id", event.at("event_id")},
                                            {"event", event.at("event")},
                                            {"run_id", event.at("run_id")},
                                            {"delivery_attempt", event.at("delivery_attempt")}})
            << std::endl;
}

class session : public std::enable_shared_from_this<session> {
public:
  session(tcp::socket s, receiver_state& st) : stream_(std::move(s)), state_(st) {}

  void start() { do_read(); }

private:
  void do_read() {
    parser_.emplace();
    parser_->body_limit(max_body);
    stream_.expires_after(read_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec)
      return; // closed, timed out or malformed: drop the connection
    auto& req = parser_->get();
    auto status = answer(req);
    res_ = {status, req.version()};
    res_.keep_alive(req.keep_alive());
    res_.prepare_payload();
    http::async_write(stream_, res_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (!ec && self->res_.keep_alive())
                          self->do_read();
                      });
  }

  http::status answer(const http::request<http::string_body>& req) {
    if (req.method() != http::verb::post)
      return http::status::method_not_allowed;
    auto failure = state_.verifier.verify(req["webhook-id"], req["webhook-timestamp"],
                                          req["webhook-signature"], req.body(),
                                          std::chrono::system_clock::now());
    if (failure) {
      std::cout << json::serialize(json::object{{"rejected", rundun::net::to_string(*failure)}})
                << std::endl;
      return http::status::unauthorized;
    }
    boost::system::error_code ec;
    auto body = json::parse(req.body(), ec);
    if (ec || !body.is_object())
      return http::status::bad_request;
    auto& event = body.as_object();
    std::string id(req["webhook-id"]);
    if (!state_.seen.insert(id).second) {
      std::cout << json::serialize(json::object{{"duplicate", id}}) << std::endl;
      return http::status::ok;
    }
    handle_event(event);
    return http::status::ok;
  }

  beast::tcp_stream stream_;
  receiver_state& state_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::empty_body> res_;
};

void do_accept(tcp::acceptor& acceptor, receiver_state& st) {
  acceptor.async_accept([&](beast::error_code ec, tcp::socket s) {
    if (!ec)
      std::make_shared<session>(std::move(s), st)->start();
    do_accept(acceptor, st);
  });
}

} // namespace

int main(int argc, char** argv) {
  const char* secret = std::getenv("RUNDUN_WEBHOOK_SECRET");
  auto verifier = secret ? rundun::net::webhook_verifier::from_secret(secret) : std::nullopt;
  if (!verifier) {
    std::cerr << "cpp_receiver: set RUNDUN_WEBHOOK_SECRET to the run's whsec_ secret\n";
    return 2;
  }
  std::string listen = argc > 1 ? argv[1] : "127.0.0.1:9000";
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) {
    std::cerr << "cpp_receiver: the address must be HOST:PORT, got '" << listen << "'\n";
    return 2;
  }
  asio::io_context io;
  boost::system::error_code ec;
  auto address = asio::ip::make_address(listen.substr(0, colon), ec);
  if (ec) {
    std::cerr << "cpp_receiver: bad host '" << listen.substr(0, colon) << "'\n";
    return 2;
  }
  tcp::acceptor acceptor{
      io, {address, static_cast<unsigned short>(std::stoi(listen.substr(colon + 1)))}};
  receiver_state st{std::move(*verifier), {}};
  do_accept(acceptor, st);
  auto url = "http://" + listen.substr(0, colon) + ":" +
             std::to_string(acceptor.local_endpoint().port()) + "/hook";
  std::cout << json::serialize(json::object{{"listening", url}}) << std::endl;
  io.run();
}
