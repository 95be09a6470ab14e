#pragma once

// The engine's queries through a cluster (contract §9), for code that embeds a node: each
// query goes to the node that owns its record, as the id or the run link says
// (persistence/ids.hpp), and is answered by that node's engine. This header does not
// include CAF.

#include "actors/cluster.hpp"
#include "actors/reader.hpp"

#include <string>

namespace rundun::cluster {

/// The refusal of a query whose owner is down or unreachable: `503 node_unavailable`.
domain_error node_unavailable(const std::string& node);

/// A `reader` over the whole cluster. A record that this node owns is read from `local`
/// (this node's engine); one that another member owns is read by that member, over `n`; an
/// id without an owner mark (made by a single node before it joined) is looked for here
/// first, then on every other member in turn: the first answer that is not `404` wins, and
/// if nobody has it while some member could not be asked, the answer is `node_unavailable`.
///
/// Both `local` and `n` must outlive the reader.
class cluster_reader final : public reader {
public:
  cluster_reader(reader& local, node& n) : local_(local), node_(n) {}

  void read_template(template_id id, callback<template_record> done) override;
  void read_run(run_id id, callback<run_record> done) override;
  void read_run_by_token(std::string token, callback<run_record> done) override;
  void read_events(run_id id, callback<std::vector<event_record>> done) override;
  void read_photo(photo_id id, callback<photo_content> done) override;
  void read_photo_thumbnail(std::string token, photo_id id, callback<photo_content> done) override;

private:
  template <class T>
  struct route;

  template <class T>
  void start(std::optional<owner_mark> mark, route<T> r);
  template <class T>
  void ask_others(route<T> r, std::size_t next, bool someone_unavailable,
                  domain_error local_refusal);

  reader& local_;
  node& node_;
};

} // namespace rundun::cluster
