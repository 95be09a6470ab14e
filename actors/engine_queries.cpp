// The engine's queries: synchronous reads of the store (`get_…`, `list_…`), callable on any
// thread, and their asynchronous `reader` form (`read_…`), answered on the read thread.

#include "actors/engine_impl.hpp"

#include "persistence/store.hpp"

#include <boost/asio/post.hpp>

namespace rundun {

using namespace engine_detail;

outcome<template_record> engine::get_template(const template_id& id) const {
  return from_read(impl_->store->find_template(id), "template_not_found",
                   "no template has this id");
}

outcome<run_record> engine::get_run(const run_id& id) const {
  return from_read(impl_->store->find_run(id), "run_not_found", "no run has this id");
}

outcome<photo_content> engine::get_photo(const photo_id& id) const {
  auto rec = from_read(impl_->store->find_photo(id), "photo_not_found", "no photo has this id");
  if (!rec)
    return rec.error();
  auto bytes = from_read(impl_->store->photo_bytes(id), "photo_not_found", "no photo has this id");
  if (!bytes)
    return bytes.error();
  return photo_content{rec->content_type, std::move(*bytes)};
}

outcome<photo_content> engine::get_photo_thumbnail(std::string_view token,
                                                   const photo_id& id) const {
  auto run = impl_->store->find_run_by_token(token);
  if (!run)
    return storage_failure(run.error());
  if (!*run)
    return not_found("link_not_found", "no run has this link");
  auto photo = from_read(impl_->store->photo_thumbnail(id), "photo_not_found",
                         "no photo of this run has this id");
  if (!photo)
    return photo.error();
  // Another run's photo is as absent as one that does not exist.
  if (photo->record.run != **run)
    return not_found("photo_not_found", "no photo of this run has this id");
  return photo_content{"image/jpeg", std::move(photo->thumbnail_jpeg)};
}

outcome<run_record> engine::get_run_by_token(std::string_view token) const {
  auto id = impl_->store->find_run_by_token(token);
  if (!id)
    return storage_failure(id.error());
  if (!*id)
    return not_found("link_not_found", "no run has this link");
  return get_run(**id);
}

outcome<std::vector<event_record>> engine::get_events(const run_id& id) const {
  auto run = impl_->store->find_run(id);
  if (!run)
    return storage_failure(run.error());
  if (!*run)
    return not_found("run_not_found", "no run has this id");
  auto events = impl_->store->run_events(id);
  if (!events)
    return storage_failure(events.error());
  return std::move(*events);
}

// -- the queries' asynchronous form ----------------------------------------------------

namespace {

/// Runs `read` on the engine's read thread and hands its outcome to `done` there.
template <class Read, class Done>
void post_read(boost::asio::thread_pool& reads, Read read, Done done) {
  boost::asio::post(reads,
                    [read = std::move(read), done = std::move(done)]() mutable { done(read()); });
}

} // namespace

void engine::read_template(template_id id, callback<template_record> done) {
  post_read(
      impl_->reads, [this, id = std::move(id)] { return get_template(id); }, std::move(done));
}

void engine::read_run(run_id id, callback<run_record> done) {
  post_read(
      impl_->reads, [this, id = std::move(id)] { return get_run(id); }, std::move(done));
}

void engine::read_run_by_token(std::string token, callback<run_record> done) {
  post_read(
      impl_->reads, [this, token = std::move(token)] { return get_run_by_token(token); },
      std::move(done));
}

void engine::read_events(run_id id, callback<std::vector<event_record>> done) {
  post_read(
      impl_->reads, [this, id = std::move(id)] { return get_events(id); }, std::move(done));
}

void engine::read_photo(photo_id id, callback<photo_content> done) {
  post_read(
      impl_->reads, [this, id = std::move(id)] { return get_photo(id); }, std::move(done));
}

void engine::read_photo_thumbnail(std::string token, photo_id id, callback<photo_content> done) {
  post_read(
      impl_->reads,
      [this, token = std::move(token), id = std::move(id)] {
        return get_photo_thumbnail(token, id);
      },
      std::move(done));
}

// -- lists and endpoints (contract §8) --------------------------------------------

outcome<list_page<run_record>> engine::list_runs(const run_filter& f, const list_request& r) const {
  auto page = impl_->store->list_runs(f, r);
  if (!page)
    return storage_failure(page.error());
  return std::move(*page);
}

outcome<list_page<listed_event>> engine::list_events(const event_filter& f,
                                                     const list_request& r) const {
  auto page = impl_->store->list_events(f, r);
  if (!page)
    return storage_failure(page.error());
  list_page<listed_event> out;
  out.next = std::move(page->next);
  std::unordered_map<std::string, std::string> urls;
  for (auto& e : page->items) {
    std::string url;
    if (!e.endpoint.empty()) {
      auto it = urls.find(e.endpoint);
      if (it == urls.end()) {
        auto stored = impl_->store->endpoint_url(e.endpoint);
        it = urls.emplace(e.endpoint, stored && *stored ? **stored : std::string{}).first;
      }
      url = it->second;
    }
    out.items.push_back({std::move(e), std::move(url)});
  }
  return out;
}

outcome<std::string> engine::endpoint_key(std::string_view url) const {
  return key_of_url("endpoint", url);
}

outcome<list_page<endpoint_health>> engine::list_endpoints(std::optional<endpoint_rank> only,
                                                           const list_request& r) const {
  auto page = impl_->store->list_endpoints(only, r);
  if (!page)
    return storage_failure(page.error());
  // Live state, for the page only.
  for (auto& e : page->items)
    e.in_flight = impl_->in_flight.get(e.key);
  return std::move(*page);
}

} // namespace rundun
