#include "actors/cluster_reader.hpp"

#include <memory>

namespace rundun::cluster {

domain_error node_unavailable(const std::string& node) {
  return {error_kind::unavailable,
          "node_unavailable",
          "node '" + node + "', which holds this run, is down or unreachable; try again shortly",
          {}};
}

/// One query on its way: how to read it here, how it travels, how its answer decodes, and
/// who waits for it.
template <class T>
struct cluster_reader::route {
  std::function<void(reader&, callback<T>)> read_here;
  read_request request;
  outcome<T> (*decode)(read_answer);
  callback<T> done;
};

template <class T>
void cluster_reader::start(std::optional<owner_mark> mark, route<T> r) {
  if (!mark) {
    // Here first; on a 404, every other member in turn.
    auto shared = std::make_shared<route<T>>(std::move(r));
    return shared->read_here(local_, [this, shared](outcome<T> here) {
      if (here || here.error().kind != error_kind::not_found)
        return shared->done(std::move(here));
      ask_others(std::move(*shared), 0, false, here.error());
    });
  }
  auto* owner = find_by_mark(node_.members(), *mark);
  if (!owner || owner->id == node_.self()) // ours, or a mark nobody has: this node answers 404
    return r.read_here(local_, std::move(r.done));
  node_.read(owner->id, std::move(r.request),
             [decode = r.decode, done = std::move(r.done),
              id = owner->id](std::optional<read_answer> answer) {
               done(answer ? decode(std::move(*answer)) : node_unavailable(id));
             });
}

template <class T>
void cluster_reader::ask_others(route<T> r, std::size_t next, bool someone_unavailable,
                                domain_error local_refusal) {
  auto& members = node_.members();
  while (next < members.size() && members[next].id == node_.self())
    ++next;
  if (next == members.size()) {
    if (someone_unavailable)
      return r.done(node_unavailable("(a node that could not be asked)"));
    return r.done(std::move(local_refusal));
  }
  auto to = members[next].id;
  auto request = r.request;
  node_.read(to, std::move(request),
             [this, r = std::move(r), next, someone_unavailable,
              local_refusal = std::move(local_refusal)](std::optional<read_answer> answer) mutable {
               if (answer) {
                 auto there = r.decode(std::move(*answer));
                 if (there || there.error().kind != error_kind::not_found)
                   return r.done(std::move(there));
               }
               ask_others(std::move(r), next + 1, someone_unavailable || !answer,
                          std::move(local_refusal));
             });
}

void cluster_reader::read_template(template_id id, callback<template_record> done) {
  auto mark = owner_of_id(id.value);
  start<template_record>(mark, {[id](reader& r, auto cb) { r.read_template(id, std::move(cb)); },
                                {read_kind::template_record, id.value, {}},
                                template_from,
                                std::move(done)});
}

void cluster_reader::read_run(run_id id, callback<run_record> done) {
  auto mark = owner_of_id(id.value);
  start<run_record>(mark, {[id](reader& r, auto cb) { r.read_run(id, std::move(cb)); },
                           {read_kind::run, id.value, {}},
                           run_from,
                           std::move(done)});
}

void cluster_reader::read_run_by_token(std::string token, callback<run_record> done) {
  auto mark = owner_of_token(token);
  start<run_record>(mark,
                    {[token](reader& r, auto cb) { r.read_run_by_token(token, std::move(cb)); },
                     {read_kind::run_by_token, token, {}},
                     run_from,
                     std::move(done)});
}

void cluster_reader::read_events(run_id id, callback<std::vector<event_record>> done) {
  auto mark = owner_of_id(id.value);
  start<std::vector<event_record>>(mark,
                                   {[id](reader& r, auto cb) { r.read_events(id, std::move(cb)); },
                                    {read_kind::events, id.value, {}},
                                    events_from,
                                    std::move(done)});
}

void cluster_reader::read_photo(photo_id id, callback<photo_content> done) {
  auto mark = owner_of_id(id.value);
  start<photo_content>(mark, {[id](reader& r, auto cb) { r.read_photo(id, std::move(cb)); },
                              {read_kind::photo, id.value, {}},
                              photo_from,
                              std::move(done)});
}

void cluster_reader::read_photo_thumbnail(std::string token, photo_id id,
                                          callback<photo_content> done) {
  auto mark = owner_of_token(token);
  start<photo_content>(
      mark, {[token, id](reader& r, auto cb) { r.read_photo_thumbnail(token, id, std::move(cb)); },
             {read_kind::photo_thumbnail, token, id.value},
             photo_from,
             std::move(done)});
}

} // namespace rundun::cluster
