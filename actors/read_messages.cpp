#include "actors/read_messages.hpp"

#include "persistence/record_codec.hpp"

namespace rundun {

namespace {

read_answer refused(const domain_error& e) {
  read_answer a;
  a.error_code = e.code;
  a.error = e.kind;
  a.error_message = e.message;
  return a;
}

/// Hands a reader's outcome to `done` in the wire form, `encode` turning the value into it.
template <class T, class Encode>
reader::callback<T> answering(std::function<void(read_answer)> done, Encode encode) {
  return [done = std::move(done), encode](outcome<T> r) {
    if (!r)
      return done(refused(r.error()));
    read_answer a;
    encode(*r, a);
    done(std::move(a));
  };
}

void one_record(const auto& rec, read_answer& a) {
  a.records.push_back(encode(rec));
}

void photo(photo_content& p, read_answer& a) {
  a.content_type = std::move(p.content_type);
  a.bytes = std::move(p.bytes);
}

domain_error undecodable() {
  return {error_kind::storage,
          "node_answer_invalid",
          "the node that owns this record answered with one that does not decode",
          {}};
}

domain_error refusal_of(read_answer& a) {
  return {a.error, std::move(a.error_code), std::move(a.error_message), {}};
}

template <class T, class Decode>
outcome<T> one_from(read_answer a, Decode decode) {
  if (!a.error_code.empty())
    return refusal_of(a);
  if (a.records.size() != 1)
    return undecodable();
  auto rec = decode(a.records.front());
  if (!rec)
    return undecodable();
  return std::move(*rec);
}

} // namespace

void answer_read(reader& local, read_request req, std::function<void(read_answer)> done) {
  auto one = [](const auto& rec, read_answer& a) { one_record(rec, a); };
  switch (req.kind) {
  case read_kind::template_record:
    return local.read_template(template_id{std::move(req.key)},
                               answering<template_record>(std::move(done), one));
  case read_kind::run:
    return local.read_run(run_id{std::move(req.key)}, answering<run_record>(std::move(done), one));
  case read_kind::run_by_token:
    return local.read_run_by_token(std::move(req.key), answering<run_record>(std::move(done), one));
  case read_kind::events:
    return local.read_events(
        run_id{std::move(req.key)},
        answering<std::vector<event_record>>(std::move(done), [](const auto& events, auto& a) {
          for (auto& e : events)
            a.records.push_back(encode(e));
        }));
  case read_kind::photo:
    return local.read_photo(photo_id{std::move(req.key)},
                            answering<photo_content>(std::move(done), photo));
  case read_kind::photo_thumbnail:
    return local.read_photo_thumbnail(std::move(req.key), photo_id{std::move(req.photo)},
                                      answering<photo_content>(std::move(done), photo));
  }
  done(refused(invalid_field("unknown read kind " + std::to_string(static_cast<int>(req.kind)))));
}

outcome<template_record> template_from(read_answer a) {
  return one_from<template_record>(std::move(a), [](auto text) { return decode_template(text); });
}

outcome<run_record> run_from(read_answer a) {
  return one_from<run_record>(std::move(a), [](auto text) { return decode_run(text); });
}

outcome<std::vector<event_record>> events_from(read_answer a) {
  if (!a.error_code.empty())
    return refusal_of(a);
  std::vector<event_record> out;
  out.reserve(a.records.size());
  for (auto& text : a.records) {
    auto e = decode_event(text);
    if (!e)
      return undecodable();
    out.push_back(std::move(*e));
  }
  return out;
}

outcome<photo_content> photo_from(read_answer a) {
  if (!a.error_code.empty())
    return refusal_of(a);
  return photo_content{std::move(a.content_type), std::move(a.bytes)};
}

} // namespace rundun
