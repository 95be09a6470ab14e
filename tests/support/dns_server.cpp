#include "tests/support/dns_server.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

namespace rundun::test {

namespace asio = boost::asio;
using udp = asio::ip::udp;

namespace {

constexpr std::size_t header_size = 12;
/// The largest DNS message over UDP without EDNS.
constexpr std::size_t max_message = 512;
constexpr std::uint16_t type_a = 1;
constexpr std::uint16_t class_in = 1;
constexpr std::uint16_t flag_response = 0x8000;
constexpr std::uint16_t flag_recursion_desired = 0x0100;
constexpr std::uint16_t flag_recursion_available = 0x0080;
constexpr std::uint16_t rcode_nxdomain = 3;
/// A compression pointer to the question's name, which starts right after the header.
constexpr std::uint16_t pointer_to_question = 0xc000 | header_size;

std::uint16_t read16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>(p[0] << 8 | p[1]);
}

void put16(std::vector<std::uint8_t>& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

void put32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  put16(out, static_cast<std::uint16_t>(v >> 16));
  put16(out, static_cast<std::uint16_t>(v));
}

/// The first question of a query: its name (lowercased, dotted), its type, and where it
/// ends in the message.
struct question {
  std::string name;
  std::uint16_t type = 0;
  std::size_t end = 0;
};

std::optional<question> parse_question(const std::uint8_t* msg, std::size_t size) {
  if (size < header_size || read16(msg + 4) == 0)
    return std::nullopt;
  question q;
  std::size_t at = header_size;
  while (at < size && msg[at] != 0) {
    std::size_t len = msg[at++];
    if (len > 63 || at + len > size)
      return std::nullopt;
    if (!q.name.empty())
      q.name += '.';
    for (std::size_t i = 0; i < len; ++i)
      q.name += static_cast<char>(std::tolower(msg[at + i]));
    at += len;
  }
  if (at + 5 > size)
    return std::nullopt;
  q.type = read16(msg + at + 1);
  q.end = at + 5;
  return q;
}

std::string lowercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

} // namespace

struct dns_server::impl {
  struct record {
    asio::ip::address_v4 address;
    std::chrono::seconds ttl;
    std::chrono::milliseconds delay;
  };

  asio::io_context io;
  udp::socket socket{io, udp::endpoint{asio::ip::make_address("127.0.0.1"), 0}};
  std::array<std::uint8_t, max_message> in{};
  udp::endpoint peer;
  mutable std::mutex mtx;
  std::map<std::string, record> records;
  std::set<std::string> ignored;
  std::map<std::string, std::size_t> a_queries;
  std::thread thread;

  void receive() {
    socket.async_receive_from(asio::buffer(in), peer,
                              [this](boost::system::error_code ec, std::size_t n) {
                                if (ec == asio::error::operation_aborted)
                                  return;
                                if (!ec)
                                  answer(n);
                                receive();
                              });
  }

  void answer(std::size_t n) {
    auto q = parse_question(in.data(), n);
    if (!q)
      return;
    std::optional<record> found;
    {
      std::lock_guard guard{mtx};
      if (q->type == type_a)
        ++a_queries[q->name];
      if (ignored.contains(q->name))
        return;
      if (auto it = records.find(q->name); it != records.end())
        found = it->second;
    }
    bool with_answer = found && q->type == type_a;
    auto reply = std::make_shared<std::vector<std::uint8_t>>();
    auto& out = *reply;
    out.insert(out.end(), in.begin(), in.begin() + 2); // the query's id
    std::uint16_t flags =
        flag_response | flag_recursion_available | (read16(in.data() + 2) & flag_recursion_desired);
    if (!found)
      flags |= rcode_nxdomain;
    put16(out, flags);
    put16(out, 1);                   // the question, echoed
    put16(out, with_answer ? 1 : 0); // answers: a name known without an A record is NODATA
    put16(out, 0);
    put16(out, 0);
    out.insert(out.end(), in.begin() + header_size,
               in.begin() + static_cast<std::ptrdiff_t>(q->end));
    if (with_answer) {
      put16(out, pointer_to_question);
      put16(out, type_a);
      put16(out, class_in);
      put32(out, static_cast<std::uint32_t>(found->ttl.count()));
      auto bytes = found->address.to_bytes();
      put16(out, static_cast<std::uint16_t>(bytes.size()));
      out.insert(out.end(), bytes.begin(), bytes.end());
    }
    auto delay = found ? found->delay : std::chrono::milliseconds{0};
    if (delay.count() == 0)
      return send(*reply, peer);
    auto timer = std::make_shared<asio::steady_timer>(io, delay);
    timer->async_wait([this, timer, reply, to = peer](boost::system::error_code ec) {
      if (!ec)
        send(*reply, to);
    });
  }

  void send(const std::vector<std::uint8_t>& reply, const udp::endpoint& to) {
    boost::system::error_code ignored_error;
    socket.send_to(asio::buffer(reply), to, 0, ignored_error);
  }
};

dns_server::dns_server() : impl_(std::make_unique<impl>()) {
  port_ = impl_->socket.local_endpoint().port();
  impl_->receive();
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

dns_server::~dns_server() {
  // Delayed answers not sent yet are dropped with the io_context.
  asio::post(impl_->io, [this] {
    impl_->socket.close();
    impl_->io.stop();
  });
  impl_->thread.join();
}

void dns_server::add(const std::string& name, const std::string& ipv4, std::chrono::seconds ttl,
                     std::chrono::milliseconds delay) {
  std::lock_guard guard{impl_->mtx};
  impl_->records[lowercase(name)] = {asio::ip::make_address_v4(ipv4), ttl, delay};
}

void dns_server::ignore(const std::string& name) {
  std::lock_guard guard{impl_->mtx};
  impl_->ignored.insert(lowercase(name));
}

std::size_t dns_server::a_queries(const std::string& name) const {
  std::lock_guard guard{impl_->mtx};
  auto it = impl_->a_queries.find(lowercase(name));
  return it == impl_->a_queries.end() ? 0 : it->second;
}

} // namespace rundun::test
