#include "bench_receiver.hpp"

#include "net/signature.hpp"
#include "net/webhook_verifier.hpp"

#include <array>
#include <charconv>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <unordered_set>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/read.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>

// The receiver is part of the load tool, whose CPU is measured beside the engine's: it does
// only what the figures need. Beast's parser does the HTTP, but only the three `webhook-*`
// headers and the body are kept; the signature is an HMAC keyed once per receiver; the body
// is searched for `created_at`, not parsed; the answers are constant bytes.

namespace rundun::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t sha256_bytes = 32;
constexpr std::size_t sha256_block_bytes = 64;
/// A webhook body above this is refused by the parser (the benchmarks send about 1 KB).
constexpr std::uint64_t max_body_bytes = 1 << 20;

struct md_ctx_free {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_free>;
struct md_free {
  void operator()(EVP_MD* m) const { EVP_MD_free(m); }
};

/// HMAC-SHA256 keyed once (RFC 2104): the key's inner and outer pads are hashed when the
/// receiver is made, and each message starts from copies of those two SHA-256 states, so
/// that it costs only its own bytes. Not thread-safe: one per receiver, on its io thread.
class keyed_hmac {
public:
  explicit keyed_hmac(std::string_view key) : md_(EVP_MD_fetch(nullptr, "SHA256", nullptr)) {
    std::array<unsigned char, sha256_block_bytes> block{};
    if (key.size() > block.size()) // a long key is hashed first (never so for whsec_ keys)
      EVP_Digest(key.data(), key.size(), block.data(), nullptr, md_.get(), nullptr);
    else
      std::memcpy(block.data(), key.data(), key.size());
    inner_ = start(block, 0x36);
    outer_ = start(block, 0x5c);
    if (!work_)
      throw std::runtime_error("OpenSSL could not set up SHA-256");
  }

  /// The MAC of `parts`, concatenated.
  std::array<unsigned char, sha256_bytes> mac(std::initializer_list<std::string_view> parts) {
    std::array<unsigned char, sha256_bytes> inner{}, out{};
    EVP_MD_CTX_copy_ex(work_.get(), inner_.get());
    for (auto p : parts)
      EVP_DigestUpdate(work_.get(), p.data(), p.size());
    EVP_DigestFinal_ex(work_.get(), inner.data(), nullptr);
    EVP_MD_CTX_copy_ex(work_.get(), outer_.get());
    EVP_DigestUpdate(work_.get(), inner.data(), inner.size());
    EVP_DigestFinal_ex(work_.get(), out.data(), nullptr);
    return out;
  }

private:
  md_ctx_ptr start(std::array<unsigned char, sha256_block_bytes> block, unsigned char pad) {
    for (auto& b : block)
      b ^= pad;
    md_ctx_ptr ctx{EVP_MD_CTX_new()};
    if (!md_ || !ctx || EVP_DigestInit_ex2(ctx.get(), md_.get(), nullptr) != 1 ||
        EVP_DigestUpdate(ctx.get(), block.data(), block.size()) != 1)
      throw std::runtime_error("OpenSSL could not set up SHA-256");
    return ctx;
  }

  std::unique_ptr<EVP_MD, md_free> md_;
  md_ctx_ptr inner_, outer_;
  md_ctx_ptr work_{EVP_MD_CTX_new()};
};

/// Whether the space-separated `webhook-signature` value holds `v1,` + base64(`mac`).
/// Compared in constant time, as a receiver must.
bool holds_signature(std::string_view signatures,
                     const std::array<unsigned char, sha256_bytes>& mac) {
  // "v1," + 44 base64 characters + the NUL that EVP_EncodeBlock writes.
  std::array<char, 3 + 4 * ((sha256_bytes + 2) / 3) + 1> text{'v', '1', ','};
  auto n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data() + 3), mac.data(),
                           static_cast<int>(mac.size()));
  std::string_view expected{text.data(), 3 + static_cast<std::size_t>(n)};
  while (!signatures.empty()) {
    auto sp = signatures.find(' ');
    auto one = signatures.substr(0, sp);
    signatures = sp == std::string_view::npos ? std::string_view{} : signatures.substr(sp + 1);
    if (one.size() == expected.size() &&
        CRYPTO_memcmp(one.data(), expected.data(), one.size()) == 0)
      return true;
  }
  return false;
}

/// `text[at, at + n)` as a decimal number; -1 if any of it is not a digit.
int digits_at(std::string_view text, std::size_t at, std::size_t n) {
  int v = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    if (text[i] < '0' || text[i] > '9')
      return -1;
    v = v * 10 + (text[i] - '0');
  }
  return v;
}

/// `"created_at":"2026-11-26T23:17:24.082Z"` in a webhook body (near its start), as
/// microseconds since the epoch; 0 when absent. The milliseconds are optional, as the
/// engine leaves them out when they are zero.
std::int64_t created_at_us(std::string_view body) {
  constexpr std::string_view key = "\"created_at\":\"";
  auto at = body.find(key);
  if (at == std::string_view::npos || body.size() - at - key.size() < 20)
    return 0;
  auto t = body.substr(at + key.size());
  int y = digits_at(t, 0, 4), mo = digits_at(t, 5, 2), d = digits_at(t, 8, 2);
  int h = digits_at(t, 11, 2), mi = digits_at(t, 14, 2), s = digits_at(t, 17, 2);
  int ms = t[19] == '.' && t.size() >= 23 ? digits_at(t, 20, 3) : 0;
  if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || s < 0 || ms < 0)
    return 0;
  using namespace std::chrono;
  auto date = sys_days{year{y} / month{static_cast<unsigned>(mo)} / day{static_cast<unsigned>(d)}};
  auto tp = date + hours{h} + minutes{mi} + seconds{s} + milliseconds{ms};
  return duration_cast<microseconds>(tp.time_since_epoch()).count();
}

/// What a receiver keeps of one request. Reused by its connection, so that the strings'
/// capacity stays and a request allocates nothing.
struct webhook_request {
  std::string id, timestamp, signatures, body;
  void clear() {
    id.clear();
    timestamp.clear();
    signatures.clear();
    body.clear();
  }
};

/// Beast's HTTP/1.1 request parser, keeping only the `webhook-*` headers and the body. A
/// parser reads one message; a connection makes a new one (no allocation) per request.
class webhook_parser : public http::basic_parser<true> {
public:
  explicit webhook_parser(webhook_request& into) : into_(into) { body_limit(max_body_bytes); }

private:
  void on_request_impl(http::verb, beast::string_view, beast::string_view, int,
                       beast::error_code&) override {}
  void on_response_impl(int, beast::string_view, int, beast::error_code&) override {}
  void on_field_impl(http::field f, beast::string_view name, beast::string_view value,
                     beast::error_code&) override {
    if (f != http::field::unknown) // the webhook-* headers are not among Beast's known ones
      return;
    if (beast::iequals(name, "webhook-id"))
      into_.id.assign(value.data(), value.size());
    else if (beast::iequals(name, "webhook-timestamp"))
      into_.timestamp.assign(value.data(), value.size());
    else if (beast::iequals(name, "webhook-signature"))
      into_.signatures.assign(value.data(), value.size());
  }
  void on_header_impl(beast::error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& length,
                         beast::error_code&) override {
    if (length)
      into_.body.reserve(static_cast<std::size_t>(*length));
  }
  std::size_t on_body_impl(beast::string_view piece, beast::error_code&) override {
    into_.body.append(piece.data(), piece.size());
    return piece.size();
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, beast::error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view piece,
                                 beast::error_code&) override {
    into_.body.append(piece.data(), piece.size());
    return piece.size();
  }
  void on_finish_impl(beast::error_code&) override {}

  webhook_request& into_;
};

/// The answers, as bytes: `Connection: close` only when the request asked to close.
std::string_view answer_bytes(unsigned status, bool keep_alive) {
  constexpr std::string_view no_content = "HTTP/1.1 204 No Content\r\n\r\n";
  constexpr std::string_view no_content_close =
      "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";
  constexpr std::string_view error = "HTTP/1.1 500 Internal Server Error\r\n"
                                     "Content-Length: 0\r\n\r\n";
  constexpr std::string_view error_close = "HTTP/1.1 500 Internal Server Error\r\n"
                                           "Content-Length: 0\r\nConnection: close\r\n\r\n";
  if (status == 204)
    return keep_alive ? no_content : no_content_close;
  return keep_alive ? error : error_close;
}

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

} // namespace

struct bench_receiver::impl : std::enable_shared_from_this<impl> {
  impl(asio::io_context& io, receiver_mode m, const std::string& secret,
       std::shared_ptr<ssl::context> t)
      : acceptor(io), mode(m), tls(std::move(t)), hmac(key_of(secret)) {}

  static std::string key_of(const std::string& secret) {
    auto key = net::parse_secret(secret);
    if (!key)
      throw std::invalid_argument("a receiver's secret must be whsec_ and 24..64 base64 bytes");
    return *key;
  }

  tcp::acceptor acceptor;
  receiver_mode mode;
  std::shared_ptr<ssl::context> tls;
  keyed_hmac hmac; // only on the io thread
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> unique{0};
  mutable std::mutex mtx; // the figures and `seen`, read by the scenario's thread
  receiver_figures figs;
  std::unordered_set<std::string> seen;
  std::uint64_t flip = 0;

  void accept() {
    acceptor.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket s) {
      if (ec)
        return;
      s.set_option(tcp::no_delay{true});
      {
        std::lock_guard guard{self->mtx};
        ++self->figs.connections;
      }
      if (self->tls)
        std::make_shared<connection<ssl::stream<tcp::socket>>>(self, std::move(s), *self->tls)
            ->start();
      else
        std::make_shared<connection<tcp::socket>>(self, std::move(s))->start();
      self->accept();
    });
  }

  /// As a receiver must: the timestamp within the tolerance, then the signature.
  bool verified(const webhook_request& r, std::int64_t now_s) {
    std::int64_t ts = 0;
    auto end = r.timestamp.data() + r.timestamp.size();
    auto [at, ec] = std::from_chars(r.timestamp.data(), end, ts);
    if (r.id.empty() || ec != std::errc{} || at != end ||
        ts < now_s - net::webhook_tolerance.count() || ts > now_s + net::webhook_tolerance.count())
      return false;
    return holds_signature(r.signatures, hmac.mac({r.id, ".", r.timestamp, ".", r.body}));
  }

  /// Records one request; returns the status to answer with (0: never answer).
  unsigned take(const webhook_request& r) {
    auto now = now_us();
    bool good = verified(r, now / 1'000'000);
    std::lock_guard guard{mtx};
    ++figs.requests;
    if (!good)
      ++figs.bad_signatures;
    if (mode == receiver_mode::hang)
      return 0;
    if (mode == receiver_mode::flaky && (flip++ % 2 == 0))
      return 500;
    if (seen.insert(r.id).second) {
      ++figs.unique_events;
      ++unique;
    } else
      ++figs.duplicates;
    if (auto created = created_at_us(r.body))
      figs.latencies_us.push_back(now - created);
    ++accepted;
    return 204;
  }

  /// One accepted connection, plain (`tcp::socket`) or HTTPS (`ssl::stream<tcp::socket>`):
  /// reads requests one after another on the same connection and answers each.
  template <class Stream>
  struct connection : std::enable_shared_from_this<connection<Stream>> {
    template <class... Args>
    connection(std::shared_ptr<impl> o, Args&&... args)
        : owner(std::move(o)), stream(std::forward<Args>(args)...),
          timer(owner->acceptor.get_executor()) {}
    std::shared_ptr<impl> owner;
    Stream stream;
    asio::steady_timer timer;
    beast::flat_buffer buffer;
    webhook_request req;
    std::optional<webhook_parser> parser;

    void start() {
      if constexpr (std::is_same_v<Stream, tcp::socket>)
        read();
      else
        stream.async_handshake(ssl::stream_base::server,
                               [self = this->shared_from_this()](beast::error_code ec) {
                                 if (!ec)
                                   self->read();
                               });
    }

    void read() {
      req.clear();
      parser.emplace(req);
      http::async_read(stream, buffer, *parser,
                       [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                         if (!ec)
                           self->on_request();
                       });
    }

    void on_request() {
      auto status = owner->take(req);
      if (status == 0)
        return hold();
      if (owner->mode == receiver_mode::slow) {
        timer.expires_after(std::chrono::seconds{2});
        return timer.async_wait(
            [self = this->shared_from_this(), status](beast::error_code) { self->write(status); });
      }
      write(status);
    }

    /// A hanging endpoint: keep the connection open and never answer.
    void hold() {
      timer.expires_after(std::chrono::hours{24});
      timer.async_wait([self = this->shared_from_this()](beast::error_code) {});
    }

    void write(unsigned status) {
      bool keep_alive = parser->keep_alive();
      auto bytes = answer_bytes(status, keep_alive);
      asio::async_write(
          stream, asio::buffer(bytes.data(), bytes.size()),
          [self = this->shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
            if (!ec && keep_alive)
              self->read();
          });
    }
  };
};

bench_receiver::bench_receiver(asio::io_context& io, receiver_mode mode, const std::string& secret,
                               std::shared_ptr<ssl::context> tls)
    : impl_(std::make_shared<impl>(io, mode, secret, std::move(tls))) {
  tcp::endpoint ep{asio::ip::make_address("127.0.0.1"), 0};
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen(asio::socket_base::max_listen_connections);
  impl_->accept();
}

bench_receiver::~bench_receiver() {
  beast::error_code ec;
  impl_->acceptor.close(ec);
}

std::uint16_t bench_receiver::port() const {
  return impl_->acceptor.local_endpoint().port();
}

std::string bench_receiver::url() const {
  return std::string(impl_->tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port()) +
         "/hook";
}

std::uint64_t bench_receiver::accepted() const {
  return impl_->accepted.load();
}

std::uint64_t bench_receiver::unique_events() const {
  return impl_->unique.load();
}

receiver_figures bench_receiver::figures() const {
  std::lock_guard guard{impl_->mtx};
  return impl_->figs;
}

} // namespace rundun::bench
