// The engine's creations under an `Idempotency-Key` (contract §4). A key is claimed for its
// request in memory (keys_in_progress), judged by its stored record, and stored in the same
// write as what the request creates (store_template, store_run), so that a crash never
// leaves one without the other. A replay decodes what the first request created, as it
// was created, from the key's own record: the same answer, even after the run has changed.

#include "actors/engine_impl.hpp"

#include "net/log.hpp"
#include "persistence/record_codec.hpp"
#include "persistence/store.hpp"

namespace rundun {

using namespace engine_detail;

namespace {

/// The first answer again, from the key's record.
outcome<template_record> replayed_template(const idempotency_record& r) {
  auto rec = decode_template(r.created);
  if (!rec)
    return storage_failure(make_error_code(persistence::errc::corrupted));
  return std::move(*rec);
}

outcome<created_run> replayed_run(const idempotency_record& r) {
  auto rec = decode_run(r.created);
  if (!rec)
    return storage_failure(make_error_code(persistence::errc::corrupted));
  return created_run{std::move(*rec), r.secret_generated};
}

} // namespace

template <class T, class Create, class Replay>
void engine::impl::keyed_creation(keyed_route route, const idempotency_key& k,
                                  std::string fingerprint, Create create, Replay replay,
                                  callback<keyed_answer<T>> done) {
  auto& p = *this;
  if (auto bad = check_idempotency_key(k.key))
    return done(*bad);
  if (auto busy = p.shed_if_store_busy())
    return done(*busy);
  if (!p.keys.claim(k.key))
    return done(key_in_progress(k.key));
  // From here on every path gives the key back before it answers.
  auto answer = [&p, key = k.key, done](outcome<keyed_answer<T>> r) {
    p.keys.release(key);
    done(std::move(r));
  };
  auto stored = p.store->find_idempotency_key(k.key);
  if (!stored)
    return answer(storage_failure(stored.error()));
  auto at = now();
  switch (judge(*stored, route, fingerprint, at)) {
  case key_verdict::replay: {
    auto first = replay(**stored);
    if (!first)
      return answer(first.error());
    p.counters.idempotency_replays.fetch_add(1, std::memory_order_relaxed);
    return answer(keyed_answer<T>{std::move(*first), true});
  }
  case key_verdict::reused:
    return answer(key_reused(k.key, (*stored)->route, route));
  case key_verdict::fresh:
    break;
  }
  idempotency_record rec{k.key, route, std::move(fingerprint), at, false, {}};
  auto& drop = p.opts.faults.drop_keyed_answer;
  create(std::move(rec), [&p, answer, drop, key = k.key](outcome<T> r) {
    if (r && drop && drop(key)) {
      log::warn("a keyed creation's answer is dropped for a test", {{"key", key}});
      return p.keys.release(key);
    }
    if (!r)
      return answer(r.error());
    answer(keyed_answer<T>{std::move(*r), false});
  });
}

void engine::create_template(const template_spec& spec, const idempotency_key& key,
                             callback<keyed_answer<template_record>> done) {
  auto& p = *impl_;
  auto fingerprint = key.fingerprint.empty()
                         ? spec_fingerprint(spec)
                         : caller_fingerprint(keyed_route::templates, key.fingerprint);
  p.keyed_creation<template_record>(
      keyed_route::templates, key, std::move(fingerprint),
      [&p, spec](idempotency_record rec, callback<template_record> done) {
        auto made = make_template(spec, rec.created_at, p.ctx->ids);
        if (!made)
          return done(made.error());
        p.store_template(*made, std::move(rec), std::move(done));
      },
      replayed_template, std::move(done));
}

void engine::create_run(const run_spec& spec, const idempotency_key& key,
                        callback<keyed_answer<created_run>> done) {
  auto& p = *impl_;
  auto fingerprint = key.fingerprint.empty()
                         ? spec_fingerprint(spec)
                         : caller_fingerprint(keyed_route::runs, key.fingerprint);
  p.keyed_creation<created_run>(
      keyed_route::runs, key, std::move(fingerprint),
      [&p, spec](idempotency_record rec, callback<created_run> done) {
        p.store_run(spec, std::move(rec), std::move(done));
      },
      replayed_run, std::move(done));
}

} // namespace rundun
