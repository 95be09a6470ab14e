#include "api/cluster_front.hpp"

#include "api/cluster_placement.hpp"
#include "api/forwarded_request.hpp"
#include "api/router_responses.hpp"
#include "net/log.hpp"
#include "persistence/record_codec.hpp"

#include <memory>
#include <mutex>

#include <boost/json.hpp>

namespace rundun::api {

namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

/// Logs a peer's answer that is not valid HTTP, once per answer: the client gets a 503, and
/// the operator needs to know which node sends what.
void log_invalid_answer(const std::string& node, const std::string& why) {
  log::warn("a cluster peer's answer is not valid HTTP; the client gets 503 node_unavailable",
            {{"node", node}, {"reason", why}});
}

/// The `template_id` of a run's body, if it parses; anything else is the router's to refuse.
std::optional<std::string> template_of(const std::string& body) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object())
    return std::nullopt;
  auto* id = v.as_object().if_contains("template_id");
  if (!id || !id->is_string())
    return std::nullopt;
  return std::string(id->as_string());
}

} // namespace

cluster_front::cluster_front(router& r, engine& e, std::string api_key_hash, api_poster on_api)
    : router_(r), engine_(e), api_key_hash_(std::move(api_key_hash)), cursors_(api_key_hash_),
      on_api_(std::move(on_api)) {}

net::http_response cluster_front::unavailable(const std::string& node) {
  return router::refusal(cluster::node_unavailable(node));
}

net::http_response cluster_front::answer_from_peer(const std::string& node,
                                                   cluster::forwarded_response&& answer) {
  auto converted = response_from_forwarded(std::move(answer));
  if (auto* res = std::get_if<net::http_response>(&converted))
    return std::move(*res);
  // An owner that answers what is not HTTP has not answered: as if it were unreachable.
  log_invalid_answer(node, std::get<invalid_answer>(converted).reason);
  return unavailable(node);
}

const cluster::member* cluster_front::owner(std::optional<owner_mark> mark) const {
  if (!mark)
    return nullptr;
  auto* m = cluster::find_by_mark(node_->members(), *mark);
  return m && m->id != node_->self() ? m : nullptr;
}

const cluster::member* cluster_front::key_owner_of(const net::http_request& req) const {
  auto key = req.find("Idempotency-Key");
  if (key == req.end())
    return nullptr;
  // A bad key is the router's to refuse, here: there is nothing to decide.
  if (check_idempotency_key(key->value()))
    return nullptr;
  auto& members = node_->members();
  std::vector<std::string_view> ids;
  ids.reserve(members.size());
  for (auto& m : members)
    ids.emplace_back(m.id);
  auto& owner = members[key_owner(ids, key->value())];
  return owner.id != node_->self() ? &owner : nullptr;
}

void cluster_front::handle(net::http_request&& req, net::responder respond) {
  auto p = place(req.method_string(), req.target());
  switch (p.what) {
  case placement::kind::local:
    return router_.handle(std::move(req), std::move(respond));
  case placement::kind::cluster_info:
    return cluster_info(req, std::move(respond));
  case placement::kind::list:
    return list(p.key, std::move(req), std::move(respond));
  case placement::kind::recover:
    return recover(std::move(req), std::move(respond));
  case placement::kind::create_run:
    if (auto* to = key_owner_of(req))
      return forward(*to, std::move(req), std::move(respond));
    return create_run(std::move(req), std::move(respond));
  case placement::kind::create_template:
    if (auto* to = key_owner_of(req))
      return forward(*to, std::move(req), std::move(respond));
    return router_.handle(std::move(req), std::move(respond));
  case placement::kind::template_id:
    // A template is usable everywhere: this node's copy if it has one.
    if (auto* to = owner(p.mark); to && !engine_.get_template(template_id{p.key}))
      return forward(*to, std::move(req), std::move(respond));
    return router_.handle(std::move(req), std::move(respond));
  case placement::kind::run_owner:
    if (auto* to = owner(p.mark))
      return forward(*to, std::move(req), std::move(respond));
    if (p.mark) // this node's own run, or a mark no member has (the router answers 404)
      return router_.handle(std::move(req), std::move(respond));
    // An id from a single node's days: here, or on whichever node holds that data dir now.
    auto copy = req;
    return router_.handle(
        std::move(req), [this, copy = std::move(copy), respond](net::http_response res) mutable {
          if (res.result() != http::status::not_found)
            return respond(std::move(res));
          ask_others(std::move(copy), std::move(respond), 0, false, std::move(res));
        });
  }
}

std::optional<net::http_response> cluster_front::screen(const net::request_header& h) {
  auto p = place(h.method_string(), h.target());
  auto here = p.what != placement::kind::run_owner || (p.mark && !owner(p.mark));
  return router_.screen(h, here ? token_scope::this_node : token_scope::cluster);
}

void cluster_front::ask_others(net::http_request req, net::responder respond, std::size_t next,
                               bool someone_unavailable, net::http_response local_answer) {
  auto& members = node_->members();
  while (next < members.size() && members[next].id == node_->self())
    ++next;
  if (next == members.size()) {
    // Nobody has it; if a node could not be asked, it may be there.
    if (someone_unavailable)
      return respond(unavailable("(a node that could not be asked)"));
    return respond(std::move(local_answer));
  }
  auto& to = members[next];
  auto copy = req;
  node_->forward(to.id, to_forwarded(std::move(copy)),
                 [this, req = std::move(req), respond, next, someone_unavailable, id = to.id,
                  local_answer = std::move(local_answer)](
                     std::optional<cluster::forwarded_response> answer) mutable {
                   if (answer && answer->status != 404)
                     return respond(answer_from_peer(id, std::move(*answer)));
                   ask_others(std::move(req), std::move(respond), next + 1,
                              someone_unavailable || !answer, std::move(local_answer));
                 });
}

void cluster_front::forward(const cluster::member& to, net::http_request&& req,
                            net::responder respond) {
  node_->forward(to.id, to_forwarded(std::move(req)),
                 [respond, id = to.id](std::optional<cluster::forwarded_response> answer) {
                   respond(answer ? answer_from_peer(id, std::move(*answer)) : unavailable(id));
                 });
}

void cluster_front::create_run(net::http_request&& req, net::responder respond) {
  auto id = template_of(req.body());
  auto* to = id ? owner(owner_of_id(*id)) : nullptr;
  if (!to || engine_.get_template(template_id{*id}))
    return router_.handle(std::move(req), std::move(respond));
  // The template was made on another node: keep a copy here (templates never change), then
  // create the run here, where it will live.
  reads_->read_template(template_id{*id}, [this, want = *id, req = std::move(req),
                                           respond](outcome<rundun::template_record> rec) mutable {
    // Back on the API's threads: this runs on the cluster's, and adopting ends on the
    // store's writer thread.
    auto then_route = [this, req = std::move(req), respond]() mutable {
      on_api_([this, req = std::move(req), respond = std::move(respond)]() mutable {
        router_.handle(std::move(req), std::move(respond));
      });
    };
    if (!rec && rec.error().kind == error_kind::unavailable)
      return respond(router::refusal(rec.error()));
    if (!rec) // the owner has no such template: the router answers 404
      return then_route();
    // A peer answers for its own templates only: a record under another id is not adopted
    // (it would plant that template here), and the router answers as without a copy.
    if (rec->id.value != want) {
      log::warn("a peer answered a template read with another template; not adopted",
                {{"template_id", want}});
      return then_route();
    }
    // Stored or not, the router decides (without the copy it answers 404).
    engine_.adopt_template(*rec, [then_route = std::move(then_route)](
                                     outcome<rundun::template_record>) mutable { then_route(); });
  });
}

void cluster_front::cluster_info(const net::http_request& req, net::responder respond) {
  if (auto refused = router::unauthorized(req, api_key_hash_))
    return respond(std::move(*refused));
  if (req.method() != http::verb::get) {
    auto res = router::error_response(405, "method_not_allowed",
                                      std::string(req.method_string()) +
                                          " is not allowed on this route; use GET");
    res.set(http::field::allow, "GET");
    return respond(std::move(res));
  }
  json::array members;
  for (auto& m : node_->states())
    members.push_back({{"id", m.id}, {"address", m.address}, {"reachable", m.reachable}});
  net::http_response res{http::status::ok, 11};
  res.set(http::field::content_type, "application/json");
  res.body() = json::serialize(json::object{{"node_id", node_->self()}, {"members", members}});
  respond(std::move(res));
}

namespace {

/// The answers of every member, gathered from the threads they come on.
struct gathering {
  std::mutex mtx;
  std::vector<node_answer> answers;
  std::size_t left = 0;
  std::function<void(std::vector<node_answer>)> done;

  void add(std::size_t i, unsigned status, const std::string& body) {
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    std::unique_lock lock{mtx};
    answers[i].status = status;
    if (!ec && v.is_object())
      answers[i].body = std::move(v.as_object());
    else
      answers[i].body = json::object{};
    finish(lock);
  }
  void unavailable(std::size_t) {
    std::unique_lock lock{mtx};
    finish(lock);
  }
  void finish(std::unique_lock<std::mutex>& lock) {
    if (--left > 0)
      return;
    lock.unlock();
    done(std::move(answers));
  }
};

} // namespace

void cluster_front::ask_all(const net::http_request& req,
                            std::function<void(std::vector<node_answer>)> done) {
  auto& members = node_->members();
  auto g = std::make_shared<gathering>();
  g->left = members.size();
  g->done = std::move(done);
  for (auto& m : members)
    g->answers.push_back({m.id, std::nullopt, 0});
  for (std::size_t i = 0; i < members.size(); ++i) {
    auto copy = req;
    if (members[i].id == node_->self()) {
      router_.handle(std::move(copy),
                     [g, i](net::http_response res) { g->add(i, res.result_int(), res.body()); });
      continue;
    }
    node_->forward(members[i].id, to_forwarded(std::move(copy)),
                   [g, i, id = members[i].id](std::optional<cluster::forwarded_response> answer) {
                     // An answer that is not HTTP counts as none: its status would be sent
                     // on as the merged answer's.
                     auto why = answer ? answer_problem(*answer) : std::nullopt;
                     if (why)
                       log_invalid_answer(id, *why);
                     if (answer && !why)
                       g->add(i, answer->status, answer->body);
                     else
                       g->unavailable(i);
                   });
  }
}

void cluster_front::list(const std::string& which, net::http_request&& req,
                         net::responder respond) {
  if (auto refused = router::unauthorized(req, api_key_hash_))
    return respond(std::move(*refused));
  // Checked here first: a bad query is refused once, by this node, as the router would.
  auto refuse = [&](const domain_error& e) { respond(router::refusal(e)); };
  auto target = std::string(req.target());
  if (which == "endpoints") {
    auto p = parse_endpoint_list(target, cursors_);
    if (!p)
      return refuse(p.error());
    // Each node's whole list (up to the largest page): one endpoint may be on every node,
    // so filters and pages apply to the merged list.
    auto all = req;
    all.target("/v1/endpoints?limit=500");
    return ask_all(all, [this, p = std::move(*p), respond](std::vector<node_answer> answers) {
      respond(json_response(200, merge_endpoints(answers, p, cursors_)));
    });
  }
  auto kind = which == "runs" ? list_kind::runs : list_kind::events;
  outcome<page_params> page = domain_error{};
  if (kind == list_kind::runs) {
    auto p = parse_run_list(target, cursors_);
    page = p ? outcome<page_params>{p->page} : outcome<page_params>{p.error()};
  } else {
    auto p = parse_event_list(target, cursors_);
    page = p ? outcome<page_params>{p->page} : outcome<page_params>{p.error()};
  }
  if (!page)
    return refuse(page.error());
  ask_all(req,
          [this, kind, which, page = std::move(*page), respond](std::vector<node_answer> answers) {
            // A node that refused (a 400 for an endpoint URL it reads otherwise) answers for all.
            for (auto& a : answers)
              if (a.body && a.status != 200)
                return respond(json_response(a.status, *a.body));
            respond(json_response(200, merge_item_pages(kind, which, answers, page, cursors_)));
          });
}

void cluster_front::recover(net::http_request&& req, net::responder respond) {
  if (auto refused = router::unauthorized(req, api_key_hash_))
    return respond(std::move(*refused));
  ask_all(req, [respond](std::vector<node_answer> answers) {
    // A node whose recovery of the URL still runs refuses for all (409), before any other
    // refusal; a refusal of the body (a 400) is every node's. Either is passed on as it came.
    // The nodes are asked at once: one with no recovery of the URL running has started its
    // own even when another answers 409, so a cluster's 409 does not promise that no node
    // started one (a single node's does).
    if (auto* refusal = recovery_refusal(answers))
      return respond(json_response(refusal->status, *refusal->body));
    bool found = false;
    auto merged = merge_recoveries(answers, found);
    bool someone_unavailable = merged.contains("unavailable_nodes");
    if (!found && !someone_unavailable)
      return respond(
          router::error_response(404, "endpoint_not_found", "no event was ever sent to this url"));
    respond(json_response(202, merged));
  });
}

void cluster_front::handle_forwarded(cluster::forwarded_request req,
                                     std::function<void(cluster::forwarded_response)> done) {
  // A peer is held to the limits of a direct client, and answered as one would be.
  auto converted = request_from_forwarded(std::move(req));
  if (auto* refused = std::get_if<cluster::forwarded_response>(&converted)) {
    log::warn("a request forwarded by a cluster peer is refused",
              {{"status", std::to_string(refused->status)}});
    return done(std::move(*refused));
  }
  // Run here and only here: the sender found this node to be the owner (of the run, or of
  // a creation's Idempotency-Key).
  auto& forwarded = std::get<net::http_request>(converted);
  net::responder answer = [done = std::move(done)](net::http_response res) {
    res.prepare_payload();
    done(to_forwarded(std::move(res)));
  };
  // A run created here for its key may need a copy of its template from a third node.
  if (place(forwarded.method_string(), forwarded.target()).what == placement::kind::create_run)
    return create_run(std::move(forwarded), std::move(answer));
  router_.handle(std::move(forwarded), std::move(answer));
}

cluster_figures cluster_front::figures() const {
  cluster_figures out;
  out.node_id = node_->self();
  for (auto& m : node_->states())
    if (!m.self)
      out.peers_up.emplace_back(m.id, m.reachable);
  auto& c = node_->counters();
  out.forwarded_answered = c.answered.load(std::memory_order_relaxed);
  out.forwarded_unavailable = c.unavailable.load(std::memory_order_relaxed);
  out.forward_latency = c.latency.read();
  auto& r = node_->refusals();
  for (std::size_t i = 0; i < r.reasons.size(); ++i)
    out.refused.emplace_back(r.reasons[i], r.counts[i].load(std::memory_order_relaxed));
  return out;
}

} // namespace rundun::api
