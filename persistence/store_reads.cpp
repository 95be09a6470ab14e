// The store's single-record reads: a template, run, event, photo or meta value by its key,
// each in its own read transaction on the caller's thread, and the reads inside a given
// transaction that the writes and migrations share (run_at, event_at, for_each_run_event).

#include "persistence/store.hpp"

#include "persistence/delivery_log.hpp"
#include "persistence/record_codec.hpp"
#include "persistence/run_value.hpp"
#include "persistence/table_keys.hpp"

#include <algorithm>

namespace rundun::persistence {

namespace {

/// The "decoder" of values stored as plain text (ids, URLs, bytes): a copy.
std::optional<std::string> as_text(std::string_view s) {
  return std::string(s);
}

/// A stored value decoded: none for an absent one, `errc::corrupted` for one that does not
/// decode.
template <class T, class Decode>
result<std::optional<T>> decoded(const std::optional<std::string>& text, Decode decode) {
  if (!text)
    return std::optional<T>{};
  auto rec = decode(*text);
  if (!rec)
    return make_error_code(errc::corrupted);
  return std::optional<T>{std::move(*rec)};
}

} // namespace

// -- reads inside a transaction -----------------------------------------------------

result<std::optional<run_record>> store::run_at(const lmdb::txn& t, const dbs& d,
                                                std::string_view id) {
  auto spec = t.get(d.run_specs, id);
  if (!spec)
    return spec.error();
  if (!*spec)
    return std::optional<run_record>{};
  auto state = t.get(d.runs, id);
  if (!state)
    return state.error();
  if (!*state)
    return make_error_code(errc::corrupted); // a spec without its state
  auto run = decode_run(**spec, run_state_json(**state));
  if (!run)
    return make_error_code(errc::corrupted);
  return std::optional<run_record>{std::move(*run)};
}

result<std::optional<event_record>> store::event_at(const lmdb::txn& t, const dbs& d,
                                                    std::uint64_t seq) {
  auto text = t.get(d.events, big_endian(seq));
  if (!text)
    return text.error();
  auto ev = decoded<event_record>(*text, decode_event);
  if (!ev || !*ev)
    return ev;
  // The record is the event as it was made (or as format 6 last wrote it); its log holds
  // every change since, in order.
  auto c = lmdb::cursor::open(t, d.deliveries);
  if (!c)
    return c.error();
  auto prefix = step_prefix(seq);
  for (bool ok = c->seek(prefix); ok && c->key().starts_with(prefix); ok = c->next()) {
    auto step = decode_step(c->value());
    if (!step)
      return make_error_code(errc::corrupted);
    fold((*ev)->delivery, std::move(*step));
  }
  return ev;
}

boost::system::error_code store::for_each_run_event(const lmdb::txn& t, const dbs& d,
                                                    const run_id& run, const event_visitor& visit) {
  auto state = t.get(d.runs, run.value);
  if (!state)
    return state.error();
  if (!*state)
    return {};
  auto seqs = run_event_seqs(**state);
  std::sort(seqs.begin(), seqs.end());
  for (auto seq : seqs) {
    auto ev = event_at(t, d, seq);
    if (!ev)
      return ev.error();
    if (!*ev)
      continue;
    if (!visit(big_endian(seq), **ev))
      break;
  }
  return {};
}

// -- reads in a transaction of their own ----------------------------------------------

template <class T, class Decode>
result<std::optional<T>> store::read_record(MDB_dbi db, std::string_view key, Decode decode) const {
  auto t = lmdb::txn::begin_read(env_);
  if (!t)
    return t.error();
  auto text = t->get(db, key);
  if (!text)
    return text.error();
  return decoded<T>(*text, decode);
}

template <class T, class Read>
result<std::optional<T>> store::read_by_event_id(const event_id& id, Read read) const {
  auto t = lmdb::txn::begin_read(env_);
  if (!t)
    return t.error();
  auto key = event_key(*t, db_.event_ids, id);
  if (!key)
    return key.error();
  if (!*key)
    return std::optional<T>{};
  result<std::optional<T>> value = read(*t, **key);
  if (value && !*value)
    return make_error_code(errc::corrupted); // indexed but absent
  return value;
}

result<std::optional<template_record>> store::find_template(const template_id& id) const {
  return read_record<template_record>(db_.templates, id.value, decode_template);
}

result<std::optional<idempotency_record>> store::find_idempotency_key(std::string_view key) const {
  return read_record<idempotency_record>(db_.idempotency, key, [key](std::string_view value) {
    return decode_idempotency(key, value);
  });
}

result<std::optional<run_record>> store::find_run(const run_id& id) const {
  auto t = lmdb::txn::begin_read(env_);
  if (!t)
    return t.error();
  return run_at(*t, db_, id.value);
}

result<std::optional<run_id>> store::find_run_by_token(std::string_view token) const {
  auto id = read_record<std::string>(db_.tokens, token, as_text);
  if (!id)
    return id.error();
  if (!*id)
    return std::optional<run_id>{};
  return std::optional<run_id>{run_id{std::move(**id)}};
}

result<std::optional<event_record>> store::find_event(const event_id& id) const {
  return read_by_event_id<event_record>(id, [this](const lmdb::txn& t, const std::string& key) {
    return event_at(t, db_, read_big_endian(key));
  });
}

result<std::optional<std::string>> store::event_data(const event_id& id) const {
  return read_by_event_id<std::string>(id, [this](const lmdb::txn& t, const std::string& key) {
    auto text = t.get(db_.event_data, key);
    if (!text)
      return result<std::optional<std::string>>{boost::system::in_place_error, text.error()};
    return decoded<std::string>(*text, as_text);
  });
}

result<std::vector<event_record>> store::run_events(const run_id& id) const {
  auto t = lmdb::txn::begin_read(env_);
  if (!t)
    return t.error();
  std::vector<event_record> out;
  if (auto ec = for_each_run_event(*t, db_, id, [&](std::string_view, event_record& ev) {
        out.push_back(std::move(ev));
        return true;
      }))
    return ec;
  return out;
}

result<std::optional<std::string>> store::endpoint_url(std::string_view endpoint) const {
  return read_record<std::string>(db_.endpoints, endpoint, as_text);
}

result<std::optional<std::string>> store::meta(std::string_view key) const {
  return read_record<std::string>(db_.meta, key, as_text);
}

result<std::optional<photo_record>> store::find_photo(const photo_id& id) const {
  return read_record<photo_record>(db_.photos, id.value, decode_photo);
}

result<std::optional<std::string>> store::photo_bytes(const photo_id& id) const {
  return read_record<std::string>(db_.photo_bytes, id.value, as_text);
}

result<std::optional<photo_with_thumbnail>> store::photo_thumbnail(const photo_id& id) const {
  auto rec = find_photo(id);
  if (!rec)
    return rec.error();
  if (!*rec)
    return std::optional<photo_with_thumbnail>{};
  auto thumb = read_record<std::string>(db_.photo_thumbs, id.value, as_text);
  if (!thumb)
    return thumb.error();
  return std::optional<photo_with_thumbnail>{
      photo_with_thumbnail{std::move(**rec), thumb->value_or("")}};
}

result<bool> store::webhook_disabled(const run_id& run) const {
  auto t = lmdb::txn::begin_read(env_);
  if (!t)
    return {boost::system::in_place_error, t.error()};
  auto v = t->get(db_.disabled, run.value);
  if (!v)
    return {boost::system::in_place_error, v.error()};
  return v->has_value();
}

} // namespace rundun::persistence
