#include "actors/delivery_directory.hpp"

#include "actors/endpoint_actor.hpp"
#include "actors/messages.hpp"

#include <caf/all.hpp>

namespace rundun {

namespace {

using self_ptr = caf::stateful_actor<delivery_directory_state>*;

/// Collects the answers of all endpoint actors to one broadcast request.
template <class T>
struct gather {
  caf::response_promise promise;
  std::size_t outstanding = 0;
  T result{};
};

caf::actor endpoint_for(self_ptr self, const std::shared_ptr<const engine_context>& ctx,
                        const std::string& key, const std::string& url) {
  auto& eps = self->state.endpoints;
  if (auto it = eps.find(key); it != eps.end())
    return it->second;
  // Linked: when the directory stops, its endpoint actors stop with it.
  auto a = self->spawn<caf::linked>(endpoint_actor, ctx, key, url);
  eps.emplace(key, a);
  return a;
}

} // namespace

caf::behavior delivery_directory(self_ptr self, std::shared_ptr<const engine_context> ctx) {
  return {
      [=](deliver_atom, delivery_order& order) {
        auto target = endpoint_for(self, ctx, order.endpoint, order.url);
        self->send(target, deliver_atom::value, std::move(order));
      },
      [=](wake_atom, const std::string& key, const std::string& url) {
        endpoint_for(self, ctx, key, url);
      },
      [=](redeliver_atom, const std::string& key, const std::string& url,
          const std::string& event) -> caf::result<redeliver_reply> {
        auto rp = self->make_response_promise();
        rp.delegate(endpoint_for(self, ctx, key, url), redeliver_atom::value, event);
        return rp;
      },
      [=](drain_atom) -> caf::result<bool> {
        auto& eps = self->state.endpoints;
        if (eps.empty())
          return true;
        auto g = std::make_shared<gather<bool>>();
        g->promise = self->make_response_promise();
        g->outstanding = eps.size();
        for (auto& [key, a] : eps)
          self->request(a, caf::infinite, drain_atom::value)
              .then(
                  [g](bool) {
                    if (--g->outstanding == 0)
                      g->promise.deliver(true);
                  },
                  [g](caf::error&) {
                    if (--g->outstanding == 0)
                      g->promise.deliver(true);
                  });
        return g->promise;
      },
      [=](stats_atom) -> caf::result<std::vector<endpoint_stats>> {
        auto& eps = self->state.endpoints;
        if (eps.empty())
          return std::vector<endpoint_stats>{};
        auto g = std::make_shared<gather<std::vector<endpoint_stats>>>();
        g->promise = self->make_response_promise();
        g->outstanding = eps.size();
        for (auto& [key, a] : eps)
          self->request(a, std::chrono::seconds{1}, stats_atom::value)
              .then(
                  [g](endpoint_stats& s) {
                    g->result.push_back(std::move(s));
                    if (--g->outstanding == 0)
                      g->promise.deliver(std::move(g->result));
                  },
                  [g](caf::error&) {
                    if (--g->outstanding == 0)
                      g->promise.deliver(std::move(g->result));
                  });
        return g->promise;
      },
  };
}

} // namespace rundun
