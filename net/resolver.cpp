#include "net/resolver.hpp"

#include "net/destination_guard.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstring>
#include <unordered_map>
#include <vector>

#include <ares.h>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/address_v6.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <netinet/in.h>

namespace rundun::net {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

/// Distinct names looked up at once at most; a lookup of one more fails at once with
/// `dns_busy`. Far above what the engine's endpoints ask at once; it bounds what a flood of
/// new, unanswered names can hold.
constexpr std::size_t max_lookups_in_flight = 4096;
/// How long c-ares waits for a name server before it asks again; the wait doubles with each
/// round over the servers.
constexpr std::chrono::milliseconds query_try_timeout{2'000};
/// Rounds c-ares asks in: with one server, a query ends after 2 + 4 + 8 = 14 s at the most,
/// so a query that no lookup waits for any more still ends and frees its slot.
constexpr int query_tries = 3;
/// The longest an answer is cached, whatever its TTL says.
constexpr std::chrono::seconds max_answer_ttl{3'600};

using strand_type = asio::strand<asio::io_context::executor_type>;

struct addrinfo_deleter {
  void operator()(ares_addrinfo* ai) const { ares_freeaddrinfo(ai); }
};
using addrinfo_ptr = std::unique_ptr<ares_addrinfo, addrinfo_deleter>;

/// The net error for a failed c-ares lookup.
errc from_ares(int status) {
  switch (status) {
  case ARES_ENOTFOUND:
  case ARES_ENONAME:
    return errc::dns_not_found;
  case ARES_ENODATA:
    return errc::dns_no_address;
  case ARES_ETIMEOUT:
  case ARES_ECONNREFUSED:
    return errc::dns_no_answer;
  case ARES_ESERVFAIL:
  case ARES_EREFUSED:
  case ARES_EFORMERR:
  case ARES_EBADRESP:
  case ARES_ENOTIMP:
    return errc::dns_server_failure;
  default:
    return errc::dns_failed;
  }
}

std::string lowercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

/// The addresses of a c-ares answer, each once, and the shortest TTL among them and their
/// CNAMEs (capped at max_answer_ttl).
struct parsed_answer {
  address_list addresses;
  std::chrono::seconds ttl = max_answer_ttl;
};

parsed_answer parse(const ares_addrinfo& ai) {
  parsed_answer p;
  auto shorten = [&p](int ttl) { p.ttl = std::min(p.ttl, std::chrono::seconds{std::max(0, ttl)}); };
  for (auto* c = ai.cnames; c; c = c->next)
    shorten(c->ttl);
  for (auto* n = ai.nodes; n; n = n->ai_next) {
    boost::asio::ip::address a;
    if (n->ai_family == AF_INET) {
      asio::ip::address_v4::bytes_type b;
      std::memcpy(b.data(), &reinterpret_cast<const sockaddr_in*>(n->ai_addr)->sin_addr, b.size());
      a = asio::ip::address_v4{b};
    } else if (n->ai_family == AF_INET6) {
      auto* sin6 = reinterpret_cast<const sockaddr_in6*>(n->ai_addr);
      asio::ip::address_v6::bytes_type b;
      std::memcpy(b.data(), &sin6->sin6_addr, b.size());
      a = asio::ip::address_v6{b, sin6->sin6_scope_id};
    } else {
      continue;
    }
    shorten(n->ai_ttl);
    if (std::find(p.addresses.begin(), p.addresses.end(), a) == p.addresses.end())
      p.addresses.push_back(a);
  }
  return p;
}

/// c-ares' global start, once per process (it does real work only on some platforms).
bool library_ready() {
  static const int status = ares_library_init(ARES_LIB_INIT_ALL);
  return status == ARES_SUCCESS;
}

/// One lookup waiting for an answer. Its deadline timer is how the answer reaches it: the
/// query's end stores the answer and cancels the timer, and the timer's handler, which
/// holds the completion, hands over the answer or, at the deadline, the timeout. So the
/// completion lives in the io_context's queue, not in the resolver: the resolver holds no
/// reference to the clients that hold it.
struct waiter {
  explicit waiter(const strand_type& s) : timer(s) {}
  asio::steady_timer timer;
  std::optional<result<address_list>> answer;
};

/// A socket of c-ares', watched by the io_context. c-ares opens and closes it; the
/// descriptor only borrows it.
struct watched_socket {
  watched_socket(const strand_type& s, ares_socket_t fd) : descriptor(s) {
    error_code ec;
    descriptor.assign(fd, ec); // on failure, c-ares' own timeouts end the queries on it
  }
  asio::posix::stream_descriptor descriptor;
  bool want_read = false, want_write = false;
  bool reading = false, writing = false;
  bool closed = false;
};

class resolver_impl final : public resolver, public std::enable_shared_from_this<resolver_impl> {
public:
  resolver_impl(asio::io_context& io, std::size_t cache_capacity)
      : strand_(asio::make_strand(io)), cache_(cache_capacity), ares_timer_(strand_) {}

  ~resolver_impl() override {
    // Ends the queries (their callbacks see ARES_EDESTRUCTION and do nothing: their waiters
    // end at their deadlines) and closes c-ares' sockets, through watch(), while the members
    // still live.
    if (channel_)
      ares_destroy(channel_);
  }

  error_code start(const resolver_options& opts) {
    if (!library_ready())
      return errc::dns_setup;
    ares_options o{};
    o.timeout = static_cast<int>(query_try_timeout.count());
    o.tries = query_tries;
    o.sock_state_cb = &resolver_impl::on_sock_state;
    o.sock_state_cb_data = this;
    int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB;
    if (ares_init_options(&channel_, &o, mask) != ARES_SUCCESS) {
      channel_ = nullptr;
      return errc::dns_setup;
    }
    if (opts.servers &&
        (opts.servers->empty() ||
         ares_set_servers_ports_csv(channel_, opts.servers->c_str()) != ARES_SUCCESS))
      return errc::dns_servers;
    return {};
  }

  void resolve(std::string host, clock::time_point deadline, completion done) override {
    if (auto ip = parse_ip_literal(host))
      return done(address_list{*ip});
    asio::post(strand_, [self = shared_from_this(), host = lowercase(std::move(host)), deadline,
                         done = std::move(done)]() mutable {
      self->look_up(std::move(host), deadline, std::move(done));
    });
  }

  std::size_t cached_names() const override { return cached_.load(std::memory_order_relaxed); }
  std::size_t lookups_in_flight() const override {
    return in_flight_.load(std::memory_order_relaxed);
  }

private:
  /// The query of one name, shared by every lookup of that name while it runs. c-ares holds
  /// a pointer to it: it stays at one address (a node of `flights_`) until its answer.
  struct flight {
    resolver_impl* owner;
    std::string host;
    std::vector<std::shared_ptr<waiter>> waiters;
  };

  // -- on the strand --

  void look_up(std::string host, clock::time_point deadline, completion done) {
    auto hit = cache_.find(host, clock::now());
    cached_.store(cache_.size(), std::memory_order_relaxed);
    if (hit)
      return done(std::move(*hit));
    auto it = flights_.find(host);
    if (it == flights_.end() && flights_.size() >= max_lookups_in_flight)
      return done(make_error_code(errc::dns_busy));
    auto w = std::make_shared<waiter>(strand_);
    wait_for_answer(w, host, deadline, std::move(done));
    if (it != flights_.end()) {
      it->second.waiters.push_back(std::move(w)); // single flight: join the query in the air
      return;
    }
    auto& f = flights_.try_emplace(host, flight{this, host, {}}).first->second;
    f.waiters.push_back(std::move(w));
    in_flight_.store(flights_.size(), std::memory_order_relaxed);
    ares_addrinfo_hints hints{};
    hints.ai_family = AF_UNSPEC; // A and AAAA
    // May answer at once (from /etc/hosts), which ends `f`: nothing touches it after this.
    ares_getaddrinfo(channel_, host.c_str(), nullptr, &hints, &resolver_impl::on_answer, &f);
    arm_timeout();
  }

  void wait_for_answer(const std::shared_ptr<waiter>& w, const std::string& host,
                       clock::time_point deadline, completion done) {
    w->timer.expires_at(deadline);
    w->timer.async_wait(
        [weak = weak_from_this(), w, host, done = std::move(done)](error_code) mutable {
          if (w->answer)
            return done(std::move(*w->answer));
          // The deadline came first. This lookup stops waiting; the query goes on for the
          // other lookups of the name and for the cache, bounded by c-ares' own timeouts.
          if (auto self = weak.lock())
            self->forget(host, w);
          done(make_error_code(errc::dns_timeout));
        });
  }

  void forget(const std::string& host, const std::shared_ptr<waiter>& w) {
    if (auto it = flights_.find(host); it != flights_.end())
      std::erase(it->second.waiters, w);
  }

  static void on_answer(void* arg, int status, int /*timeouts*/, ares_addrinfo* res) {
    addrinfo_ptr owned{res};
    if (status == ARES_EDESTRUCTION)
      return; // the resolver is being destroyed; see ~resolver_impl
    auto* f = static_cast<flight*>(arg);
    f->owner->settle(std::string{f->host}, status, owned.get());
  }

  /// Ends the query of `host`: caches a positive answer for its TTL and hands the outcome to
  /// every lookup still waiting for it.
  void settle(std::string host, int status, const ares_addrinfo* res) {
    result<address_list> outcome = make_error_code(from_ares(status));
    if (status == ARES_SUCCESS && res) {
      auto answer = parse(*res);
      if (answer.addresses.empty()) {
        outcome = make_error_code(errc::dns_no_address);
      } else {
        // A TTL of 0 (and /etc/hosts, which has none) means: do not cache.
        if (answer.ttl.count() > 0)
          cache_.insert(host, answer.addresses, clock::now() + answer.ttl);
        cached_.store(cache_.size(), std::memory_order_relaxed);
        outcome = std::move(answer.addresses);
      }
    }
    auto node = flights_.extract(host);
    in_flight_.store(flights_.size(), std::memory_order_relaxed);
    if (node.empty())
      return;
    for (auto& w : node.mapped().waiters) {
      w->answer = outcome;
      w->timer.cancel();
    }
  }

  static void on_sock_state(void* data, ares_socket_t fd, int readable, int writable) {
    static_cast<resolver_impl*>(data)->watch(fd, readable != 0, writable != 0);
  }

  /// c-ares says which of its sockets it wants to read or write: waits on them.
  void watch(ares_socket_t fd, bool readable, bool writable) {
    if (!readable && !writable) {
      // c-ares closes the socket right after this: stop waiting on it, and let go of the
      // descriptor without closing it.
      if (auto it = sockets_.find(fd); it != sockets_.end()) {
        auto& s = *it->second;
        s.closed = true;
        error_code ignored;
        s.descriptor.cancel(ignored);
        s.descriptor.release();
        sockets_.erase(it);
      }
      return;
    }
    auto& s = sockets_[fd];
    if (!s)
      s = std::make_shared<watched_socket>(strand_, fd);
    s->want_read = readable;
    s->want_write = writable;
    arm(s);
  }

  void arm(const std::shared_ptr<watched_socket>& s) {
    if (s->closed)
      return;
    using base = asio::posix::descriptor_base;
    if (s->want_read && !s->reading) {
      s->reading = true;
      s->descriptor.async_wait(base::wait_read, [weak = weak_from_this(), s](error_code ec) {
        s->reading = false;
        if (auto self = weak.lock())
          self->on_ready(s, ec, base::wait_read);
      });
    }
    if (s->want_write && !s->writing) {
      s->writing = true;
      s->descriptor.async_wait(base::wait_write, [weak = weak_from_this(), s](error_code ec) {
        s->writing = false;
        if (auto self = weak.lock())
          self->on_ready(s, ec, base::wait_write);
      });
    }
  }

  void on_ready(const std::shared_ptr<watched_socket>& s, error_code ec,
                asio::posix::descriptor_base::wait_type what) {
    if (s->closed || ec)
      return;
    ares_socket_t fd = s->descriptor.native_handle();
    bool read = what == asio::posix::descriptor_base::wait_read;
    ares_process_fd(channel_, read ? fd : ARES_SOCKET_BAD, read ? ARES_SOCKET_BAD : fd);
    arm(s);
    arm_timeout();
  }

  /// Wakes c-ares when its next query times out (to ask again or give up).
  void arm_timeout() {
    timeval tv{};
    if (!ares_timeout(channel_, nullptr, &tv)) {
      ares_timer_.cancel(); // no query left
      return;
    }
    ares_timer_.expires_after(std::chrono::seconds{tv.tv_sec} +
                              std::chrono::microseconds{tv.tv_usec});
    ares_timer_.async_wait([weak = weak_from_this()](error_code ec) {
      auto self = weak.lock();
      if (!self || ec == asio::error::operation_aborted)
        return;
      ares_process_fd(self->channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
      self->arm_timeout();
    });
  }

  strand_type strand_;
  ares_channel channel_ = nullptr;
  dns_cache cache_;
  std::unordered_map<std::string, flight> flights_;
  std::unordered_map<ares_socket_t, std::shared_ptr<watched_socket>> sockets_;
  asio::steady_timer ares_timer_;
  std::atomic<std::size_t> cached_{0};
  std::atomic<std::size_t> in_flight_{0};
};

} // namespace

result<std::shared_ptr<resolver>> resolver::make(asio::io_context& io, resolver_options opts) {
  auto r = std::make_shared<resolver_impl>(io, opts.cache_capacity);
  if (auto ec = r->start(opts))
    return ec;
  return std::shared_ptr<resolver>{std::move(r)};
}

} // namespace rundun::net
