#include "actors/cluster.hpp"

#include "actors/cluster_actors.hpp"
#include "actors/message_types.hpp"
#include "actors/tls_error_queue.hpp"
#include "net/log.hpp"

#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

namespace rundun::cluster {

namespace {

class node_config : public caf::actor_system_config {
public:
  explicit node_config(const options& o) {
    register_message_types(*this);
    load<caf::io::middleman>();
    if (o.tls) {
      // Links the definitions that clear OpenSSL's error queue before each TLS call, which
      // caf::openssl does not (actors/tls_error_queue.hpp).
      if (!tls_calls_clear_the_error_queue())
        throw std::logic_error("the TLS calls do not clear OpenSSL's error queue");
      load<caf::openssl::manager>();
      openssl_certificate = o.tls->certificate;
      openssl_key = o.tls->key;
      openssl_cafile = o.tls->ca;
    }
    set("scheduler.max-threads", std::max<std::size_t>(1, o.threads));
    set("logger.verbosity", caf::atom("quiet"));
    set("middleman.heartbeat-interval", caf::timespan{o.heartbeat});
    set("middleman.connection-timeout", caf::timespan{o.peer_timeout});
  }
};

} // namespace

struct node::impl {
  options opts;
  forward_counters counters;
  std::shared_ptr<refusal_counters> refused = std::make_shared<refusal_counters>();
  std::shared_ptr<pending_table> pending = std::make_shared<pending_table>(counters);
  std::unique_ptr<node_config> cfg;
  std::unique_ptr<caf::actor_system> system;
  caf::actor gateway;
  /// Per other member: its peer actor (shared with the gateway, which passes hellos on) and
  /// whether it is connected.
  peer_directory peers = std::make_shared<std::unordered_map<std::string, caf::actor>>();
  std::unordered_map<std::string, std::shared_ptr<std::atomic<bool>>> reachable;
  bool stopped = false;

  void send_to(const std::string& to, std::uint64_t seq, auto&&... xs) {
    auto it = peers->find(to);
    if (it == peers->end() || stopped)
      return pending->fail(seq);
    caf::anon_send(it->second, std::forward<decltype(xs)>(xs)...);
  }
};

outcome<std::unique_ptr<node>> node::start(options opts, request_handler on_request,
                                           read_handler on_read) {
  auto p = std::make_unique<impl>();
  p->opts = std::move(opts);
  auto refuse = [](std::string why) {
    return domain_error{error_kind::invalid_input, "cluster_start_failed", std::move(why), {}};
  };
  const member* me = nullptr;
  for (auto& m : p->opts.members)
    if (m.id == p->opts.node_id)
      me = &m;
  if (!me)
    return refuse("the cluster's members do not include node '" + p->opts.node_id + "'");
  auto trusted = std::make_shared<trust>();
  trusted->self_id = p->opts.node_id;
  trusted->refused = p->refused;
  if (p->opts.tls) {
    auto id =
        net::cluster_identity::load(p->opts.tls->certificate, p->opts.tls->key, p->opts.tls->ca);
    if (!id)
      return refuse(id.error());
    trusted->identity = std::make_shared<const net::cluster_identity>(std::move(*id));
  }
  try {
    p->cfg = std::make_unique<node_config>(p->opts);
    p->system = std::make_unique<caf::actor_system>(*p->cfg);
  } catch (const std::exception& e) {
    // caf::openssl raises while it loads the certificate, key or CA.
    return refuse(std::string("cannot start the cluster's TLS: ") + e.what());
  }
  p->system->await_actors_before_shutdown(false);
  auto dialer = p->opts.tls ? p->system->openssl_manager().actor_handle()
                            : p->system->middleman().actor_handle();
  p->gateway =
      p->system->spawn(gateway, std::move(on_request), std::move(on_read), p->peers, trusted);
  for (auto& m : p->opts.members) {
    if (m.id == p->opts.node_id)
      continue;
    auto up = std::make_shared<std::atomic<bool>>(false);
    p->reachable.emplace(m.id, up);
    peer_settings s{m,
                    trusted,
                    p->gateway,
                    p->opts.node_id < m.id,
                    dialer,
                    p->opts.connect_timeout,
                    p->opts.reconnect_min,
                    p->opts.reconnect_max,
                    p->opts.request_deadline,
                    p->pending,
                    up};
    p->peers->emplace(m.id, p->system->spawn(peer, std::move(s)));
  }
  auto port = p->opts.tls
                  ? caf::openssl::publish(p->gateway, me->port, me->host.c_str(), true)
                  : p->system->middleman().publish(p->gateway, me->port, me->host.c_str(), true);
  if (!port)
    return refuse("cannot listen for cluster peers on " + me->address() + ": " +
                  p->system->render(port.error()));
  if (!p->opts.tls)
    log::warn("the cluster port is unauthenticated: any host that reaches it can act as "
              "a node; give --cluster-cert, --cluster-key and --cluster-ca",
              {{"address", me->address()}});
  log::info("cluster node listening", {{"node_id", p->opts.node_id},
                                       {"address", me->address()},
                                       {"tls", p->opts.tls ? "mutual" : "off"}});
  return std::unique_ptr<node>{new node(std::move(p))};
}

node::node(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

node::~node() {
  stop();
}

void node::stop() {
  auto& p = *impl_;
  if (p.stopped)
    return;
  p.stopped = true;
  for (auto& [id, a] : *p.peers)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(p.gateway, caf::exit_reason::user_shutdown);
  p.system->await_all_actors_done();
  p.pending->fail_all();
}

void node::forward(const std::string& to, forwarded_request req, reply done) {
  auto seq = impl_->pending->add(std::move(done));
  impl_->send_to(to, seq, forward_atom::value, seq, std::move(req));
}

void node::read(const std::string& to, read_request req, read_reply done) {
  auto seq = impl_->pending->add(std::move(done));
  impl_->send_to(to, seq, read_atom::value, seq, std::move(req));
}

const std::string& node::self() const {
  return impl_->opts.node_id;
}

const std::vector<member>& node::members() const {
  return impl_->opts.members;
}

std::vector<member_state> node::states() const {
  std::vector<member_state> out;
  for (auto& m : impl_->opts.members) {
    bool self = m.id == impl_->opts.node_id;
    auto it = impl_->reachable.find(m.id);
    out.push_back(
        {m.id, m.address(), self, self || (it != impl_->reachable.end() && it->second->load())});
  }
  return out;
}

const forward_counters& node::counters() const {
  return impl_->counters;
}

const refusal_counters& node::refusals() const {
  return *impl_->refused;
}

} // namespace rundun::cluster
