#pragma once

#include "persistence/model.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace rundun {

/// How records are laid out as values in LMDB: compact JSON text, one object per record.
/// Decoding returns `std::nullopt` for a value that does not parse as the record, which only
/// a corrupted store or a foreign writer produces.

std::string encode(const template_record& x);
std::optional<template_record> decode_template(std::string_view text);

/// A whole run in one value, for messages between actors.
std::string encode(const run_record& x);
std::optional<run_record> decode_run(std::string_view text);

/// A run as the store keeps it: its spec (what never changes after creation) and its state
/// (what commands change), in two values, so that a command rewrites only the small one.
std::string encode_run_spec(const run_record& x);
std::string encode_run_state(const run_record& x);
std::optional<run_record> decode_run(std::string_view spec, std::string_view state);

std::string encode(const photo_record& x);
std::optional<photo_record> decode_photo(std::string_view text);

std::string encode(const event_record& x);
std::optional<event_record> decode_event(std::string_view text);

} // namespace rundun
