#include "actors/cluster_actors.hpp"

#include "net/log.hpp"
#include "persistence/clock.hpp"
#include "persistence/ids.hpp"

#include <cstring>

namespace rundun::cluster {

// -- trust ----------------------------------------------------------------------------

namespace {

constexpr std::size_t nonce_bytes = 16;
constexpr std::size_t max_nonce_bytes = 64; // what a peer may send

identity_claim proved(const net::cluster_identity& id, identity_claim c,
                      const std::string& statement) {
  auto proof = id.prove(statement);
  c.certificate_pem = std::move(proof.certificate_pem);
  c.signature = std::move(proof.signature);
  return c;
}

/// Logs and counts a refusal of `from`, and returns its reason.
std::string refuse(const trust& t, const std::string& from, std::string_view what,
                   std::string_view reason) {
  t.refused->count(reason);
  log::warn("a cluster peer could not prove the member it claims to be; refused",
            {{"peer", from}, {"in", std::string(what)}, {"reason", std::string(reason)}});
  return std::string(reason);
}

} // namespace

identity_claim trust::hello_to(const std::string& to) const {
  identity_claim c{to_unix_ms(now()), random_bytes(nonce_bytes), {}, {}};
  if (!identity)
    return c;
  return proved(*identity, std::move(c), net::hello_statement(self_id, to, c.at_ms, c.nonce));
}

identity_claim trust::welcome_to(const std::string& from, const identity_claim& hello) const {
  if (!identity)
    return {};
  return proved(*identity, {}, net::welcome_statement(self_id, from, hello.nonce));
}

std::optional<std::string> trust::refuse_hello(const std::string& from,
                                               const identity_claim& c) const {
  if (!identity)
    return std::nullopt;
  if (c.nonce.size() > max_nonce_bytes)
    return refuse(*this, from, "hello", "malformed_certificate");
  if (!net::fresh(c.at_ms, to_unix_ms(now()), hello_window))
    return refuse(*this, from, "hello", net::to_string(net::identity_refusal::stale));
  if (auto why = identity->verify({c.certificate_pem, c.signature}, from,
                                  net::hello_statement(from, self_id, c.at_ms, c.nonce)))
    return refuse(*this, from, "hello", net::to_string(*why));
  return std::nullopt;
}

std::optional<std::string> trust::refuse_welcome(const std::string& from, const identity_claim& c,
                                                 const identity_claim& hello) const {
  if (!identity)
    return std::nullopt;
  if (auto why = identity->verify({c.certificate_pem, c.signature}, from,
                                  net::welcome_statement(from, self_id, hello.nonce)))
    return refuse(*this, from, "welcome", net::to_string(*why));
  return std::nullopt;
}

// -- pending_table --------------------------------------------------------------------

std::uint64_t pending_table::add(node::reply done) {
  return insert({std::move(done), std::chrono::steady_clock::now()});
}

std::uint64_t pending_table::add(node::read_reply done) {
  return insert({std::move(done), std::chrono::steady_clock::now()});
}

std::uint64_t pending_table::insert(waiting w) {
  std::lock_guard lock{mtx_};
  auto seq = ++next_;
  waiting_.emplace(seq, std::move(w));
  return seq;
}

std::optional<pending_table::waiting> pending_table::take(std::uint64_t seq) {
  std::lock_guard lock{mtx_};
  auto it = waiting_.find(seq);
  if (it == waiting_.end())
    return std::nullopt; // answered already
  auto w = std::move(it->second);
  waiting_.erase(it);
  return w;
}

void pending_table::count(const waiting& w, bool answered) {
  (answered ? counters_.answered : counters_.unavailable).fetch_add(1, std::memory_order_relaxed);
  counters_.latency.record(std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - w.since));
}

template <class Answer>
void pending_table::answer(waiting& w, Answer a) {
  auto* done = std::get_if<std::function<void(std::optional<Answer>)>>(&w.done);
  if (!done)
    return fail(w);
  count(w, true);
  (*done)(std::move(a));
}

void pending_table::fail(waiting& w) {
  count(w, false);
  std::visit([](auto& done) { done(std::nullopt); }, w.done);
}

void pending_table::complete(std::uint64_t seq, forwarded_response a) {
  if (auto w = take(seq))
    answer(*w, std::move(a));
}

void pending_table::complete(std::uint64_t seq, read_answer a) {
  if (auto w = take(seq))
    answer(*w, std::move(a));
}

void pending_table::fail(std::uint64_t seq) {
  if (auto w = take(seq))
    fail(*w);
}

void pending_table::fail_all() {
  std::unordered_map<std::uint64_t, waiting> all;
  {
    std::lock_guard lock{mtx_};
    all.swap(waiting_);
  }
  for (auto& [seq, w] : all)
    fail(w);
}

// -- gateway --------------------------------------------------------------------------

caf::behavior gateway(caf::stateful_actor<gateway_state>* self, request_handler on_request,
                      read_handler on_read, peer_directory peers,
                      std::shared_ptr<const trust> trusted) {
  // The router and the engine answer on their own threads: each answer comes back here as a
  // message, so that only this actor touches its promises. The answers carry a key that
  // only this process knows: the gateway is published, and anybody who reaches the port
  // could otherwise answer in the router's place.
  std::uint64_t key = 0;
  auto bytes = random_bytes(sizeof key);
  std::memcpy(&key, bytes.data(), sizeof key);
  self->state.answer_key = key;
  auto promise = [self] {
    auto seq = ++self->state.next;
    auto rp = self->make_response_promise();
    self->state.waiting.emplace(seq, rp);
    return std::pair{seq, rp};
  };
  auto deliver = [self](std::uint64_t key, std::uint64_t seq, auto& answer) {
    if (key != self->state.answer_key)
      return log::warn("an answer with the wrong key reached the cluster gateway; dropped");
    auto& waiting = self->state.waiting;
    if (auto it = waiting.find(seq); it != waiting.end()) {
      it->second.deliver(std::move(answer));
      waiting.erase(it);
    }
  };
  return {
      [=](hello_atom, const std::string& from, caf::actor& their_gateway,
          const identity_claim& claim) -> caf::result<welcome_atom, identity_claim> {
        auto it = peers->find(from);
        if (it == peers->end()) {
          trusted->refused->count("not_a_member");
          log::warn("a node that is not a member said hello; refused", {{"node_id", from}});
          return caf::make_error(caf::sec::request_receiver_down);
        }
        if (trusted->refuse_hello(from, claim))
          return caf::make_error(caf::sec::request_receiver_down);
        self->send(it->second, hello_atom::value, std::move(their_gateway));
        return {welcome_atom::value, trusted->welcome_to(from, claim)};
      },
      [=](forward_atom, forwarded_request& req) {
        auto [seq, rp] = promise();
        on_request(std::move(req), [me = caf::actor_cast<caf::actor>(self), key,
                                    seq = seq](forwarded_response res) {
          caf::anon_send(me, answer_atom::value, key, seq, std::move(res));
        });
        return rp;
      },
      [=](read_atom, read_request& req) {
        auto [seq, rp] = promise();
        on_read(std::move(req),
                [me = caf::actor_cast<caf::actor>(self), key, seq = seq](read_answer a) {
                  caf::anon_send(me, answer_atom::value, key, seq, std::move(a));
                });
        return rp;
      },
      [=](answer_atom, std::uint64_t key, std::uint64_t seq, forwarded_response& res) {
        deliver(key, seq, res);
      },
      [=](answer_atom, std::uint64_t key, std::uint64_t seq, read_answer& a) {
        deliver(key, seq, a);
      },
  };
}

// -- peer -----------------------------------------------------------------------------

namespace {

void connected(caf::stateful_actor<peer_state>* self, const peer_settings& s, caf::actor remote) {
  auto& st = self->state;
  if (st.remote)
    self->demonitor(st.remote);
  st.remote = std::move(remote);
  self->monitor(st.remote);
  s.reachable->store(true);
  log::info("cluster peer connected", {{"peer", s.to.id},
                                       {"address", s.to.address()},
                                       {"proved", s.trusted->identity ? "yes" : "no"}});
}

/// Says hello to the gateway found at the member's address, and counts the member connected
/// once its welcome proves that it is that member: an impostor at the address never gets
/// this node's requests (and the API keys in them).
void say_hello(caf::stateful_actor<peer_state>* self, const peer_settings& s, caf::actor remote) {
  auto hello = s.trusted->hello_to(s.to.id);
  self->request(remote, s.connect_timeout, hello_atom::value, s.trusted->self_id, s.own_gateway,
                hello)
      .then(
          [=](welcome_atom, const identity_claim& welcome) {
            auto& st = self->state;
            if (s.trusted->refuse_welcome(s.to.id, welcome, hello)) {
              self->delayed_send(self, st.backoff, dial_atom::value);
              st.backoff = std::min(st.backoff * 2, s.reconnect_max);
              return;
            }
            st.backoff = s.reconnect_min;
            st.failing = false;
            connected(self, s, remote);
          },
          [=](caf::error& e) {
            auto& st = self->state;
            if (!st.failing)
              log::warn("a cluster peer did not welcome this node; retrying with backoff",
                        {{"peer", s.to.id}, {"reason", self->system().render(e)}});
            st.failing = true;
            self->delayed_send(self, st.backoff, dial_atom::value);
            st.backoff = std::min(st.backoff * 2, s.reconnect_max);
          });
}

void dial(caf::stateful_actor<peer_state>* self, const peer_settings& s) {
  self->request(s.dialer, s.connect_timeout, caf::connect_atom::value, s.to.host, s.to.port)
      .then(
          [=](const caf::node_id&, caf::strong_actor_ptr& ptr, const std::set<std::string>&) {
            auto& st = self->state;
            if (!ptr) {
              // The member's port answered, but nothing is published there (yet).
              self->delayed_send(self, st.backoff, dial_atom::value);
              return;
            }
            auto remote = caf::actor_cast<caf::actor>(std::move(ptr));
            say_hello(self, s, std::move(remote));
          },
          [=](caf::error& e) {
            auto& st = self->state;
            if (!st.failing)
              log::warn("cannot connect to cluster peer; retrying with backoff",
                        {{"peer", s.to.id},
                         {"address", s.to.address()},
                         {"reason", self->system().render(e)}});
            st.failing = true;
            self->delayed_send(self, st.backoff, dial_atom::value);
            st.backoff = std::min(st.backoff * 2, s.reconnect_max);
          });
}

/// Sends one request to the member's gateway, expecting an `Answer`, or answers none at
/// once when disconnected.
template <class Answer, class... Ts>
void send_remote(caf::stateful_actor<peer_state>* self, const peer_settings& s, std::uint64_t seq,
                 Ts&&... xs) {
  auto& st = self->state;
  if (!st.remote)
    return s.pending->fail(seq);
  st.in_flight.emplace(seq, std::chrono::steady_clock::now() + s.request_deadline);
  // No CAF timeout: a pending timeout timer keeps its request's state alive until it fires;
  // the sweep below bounds the wait instead, and a lost connection fails all at once.
  self->request(st.remote, caf::infinite, std::forward<Ts>(xs)...)
      .then(
          [=](Answer& res) {
            // CAF matches a response by its id alone: take it only from the gateway the
            // request went to.
            auto& st = self->state;
            if (!st.remote ||
                caf::actor_cast<caf::actor_addr>(self->current_sender()) != st.remote.address()) {
              log::warn("an answer came from a node the request did not go to; dropped",
                        {{"peer", s.to.id}});
              return;
            }
            if (st.in_flight.erase(seq))
              s.pending->complete(seq, std::move(res));
          },
          [=](caf::error& e) {
            if (!self->state.in_flight.erase(seq))
              return;
            log::warn("a request to a cluster peer failed",
                      {{"peer", s.to.id}, {"reason", self->system().render(e)}});
            s.pending->fail(seq);
          });
}

void fail_in_flight(caf::stateful_actor<peer_state>* self, const peer_settings& s) {
  for (auto& [seq, deadline] : std::exchange(self->state.in_flight, {}))
    s.pending->fail(seq);
}

} // namespace

caf::behavior peer(caf::stateful_actor<peer_state>* self, peer_settings s) {
  constexpr auto sweep_every = std::chrono::seconds{1};
  self->state.backoff = s.reconnect_min;
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& st = self->state;
    if (!st.remote || msg.source != st.remote.address())
      return;
    st.remote = nullptr;
    s.reachable->store(false);
    log::warn("cluster peer lost; its runs answer 503 node_unavailable until it is back",
              {{"peer", s.to.id}, {"reason", self->system().render(msg.reason)}});
    fail_in_flight(self, s);
    if (s.dials)
      self->send(self, dial_atom::value);
  });
  if (s.dials)
    self->send(self, dial_atom::value);
  self->delayed_send(self, sweep_every, sweep_atom::value);
  return {
      [=](dial_atom) {
        if (!self->state.remote)
          dial(self, s);
      },
      [=](hello_atom, caf::actor& their_gateway) { connected(self, s, std::move(their_gateway)); },
      [=](forward_atom, std::uint64_t seq, forwarded_request& req) {
        send_remote<forwarded_response>(self, s, seq, forward_atom::value, std::move(req));
      },
      [=](read_atom, std::uint64_t seq, read_request& req) {
        send_remote<read_answer>(self, s, seq, read_atom::value, std::move(req));
      },
      [=](sweep_atom) {
        auto now = std::chrono::steady_clock::now();
        auto& in_flight = self->state.in_flight;
        for (auto it = in_flight.begin(); it != in_flight.end();) {
          if (it->second < now) {
            s.pending->fail(it->first);
            it = in_flight.erase(it);
          } else {
            ++it;
          }
        }
        self->delayed_send(self, sweep_every, sweep_atom::value);
      },
  };
}

} // namespace rundun::cluster
