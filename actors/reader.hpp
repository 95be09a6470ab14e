#pragma once

// The engine's queries in asynchronous form. One node's engine answers them from its own
// store; a cluster's reader (actors/cluster_reader.hpp) asks each run's owner, wherever it
// is. Code written against `reader` works on both. This header does not include CAF.

#include "persistence/domain_error.hpp"
#include "persistence/model.hpp"

#include <functional>
#include <string>
#include <vector>

namespace rundun {

/// A stored photo's bytes: the original, or a thumbnail (a JPEG).
struct photo_content {
  std::string content_type;
  std::string bytes;
};

/// Each read answers once through `done`, on a thread of the reader's (never inside the
/// call), with the record or the refusal: `404` with the query's code (`run_not_found`,
/// `link_not_found`, …), a storage failure, or, through a cluster, `503 node_unavailable`
/// when the owner cannot be reached. Keep `done` short.
class reader {
public:
  template <class T>
  using callback = std::function<void(outcome<T>)>;

  virtual ~reader() = default;

  virtual void read_template(template_id id, callback<template_record> done) = 0;
  virtual void read_run(run_id id, callback<run_record> done) = 0;
  virtual void read_run_by_token(std::string token, callback<run_record> done) = 0;
  /// A run's events in creation order, with their delivery state.
  virtual void read_events(run_id id, callback<std::vector<event_record>> done) = 0;
  virtual void read_photo(photo_id id, callback<photo_content> done) = 0;
  /// A photo's thumbnail through the run link `token`: only that run's photos.
  virtual void read_photo_thumbnail(std::string token, photo_id id,
                                    callback<photo_content> done) = 0;
};

} // namespace rundun
