#pragma once

// A query of the engine (reader.hpp) as it travels to the node that owns its run, and the
// answer as it travels back: plain values with CAF-style `inspect`, records encoded as the
// store keeps them (persistence/record_codec.hpp). Pure logic, no actor.

#include "actors/reader.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace rundun {

enum class read_kind : std::uint8_t {
  template_record,
  run,
  run_by_token,
  events,
  photo,
  photo_thumbnail,
};

struct read_request {
  read_kind kind = read_kind::run;
  /// The id; for `run_by_token` and `photo_thumbnail`, the run link's token.
  std::string key;
  /// For `photo_thumbnail`: the photo's id.
  std::string photo;
};

struct read_answer {
  /// Empty when the read found its record; else the refusal, as `domain_error` has it.
  std::string error_code;
  error_kind error = error_kind::not_found;
  std::string error_message;
  /// The records found (one, or a run's events), encoded.
  std::vector<std::string> records;
  /// A photo.
  std::string content_type, bytes;
};

template <class Inspector>
auto inspect(Inspector& f, read_request& x) {
  return f(x.kind, x.key, x.photo);
}
template <class Inspector>
auto inspect(Inspector& f, read_answer& x) {
  return f(x.error_code, x.error, x.error_message, x.records, x.content_type, x.bytes);
}

/// Runs `req` against a local reader (this node's engine) and answers in the wire form.
void answer_read(reader& local, read_request req, std::function<void(read_answer)> done);

/// The answer as the reader's outcome; a record that does not decode is a storage failure.
outcome<template_record> template_from(read_answer a);
outcome<run_record> run_from(read_answer a);
outcome<std::vector<event_record>> events_from(read_answer a);
outcome<photo_content> photo_from(read_answer a);

} // namespace rundun
