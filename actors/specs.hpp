#pragma once

#include "persistence/domain_error.hpp"
#include "persistence/model.hpp"

#include <optional>
#include <string>
#include <vector>

namespace rundun {

/// What a caller asks for when creating a template. Optional fields take the contract's
/// defaults.
struct step_spec {
  std::optional<std::string> id;
  std::string title;
  std::optional<bool> required;
  std::optional<int> photos_required;
};

struct template_spec {
  std::string name;
  std::vector<step_spec> steps;
};

struct webhook_spec {
  std::string url;
  /// Omitted: all five event types.
  std::optional<std::vector<std::string>> events;
  /// Omitted: the server generates one and returns it once.
  std::optional<std::string> secret;
};

/// What a caller asks for when dispatching a run.
struct run_spec {
  template_id source_template;
  std::optional<webhook_spec> webhook;
  double expires_in_hours = 24;
  /// A JSON object as text.
  std::string metadata_json = "{}";
};

/// Limits of the contract, next to the checks that use them.
inline constexpr std::size_t max_steps = 200;
inline constexpr std::size_t max_title_chars = 200;
inline constexpr std::size_t max_name_chars = 200;
inline constexpr std::size_t max_step_id_chars = 64;
inline constexpr double max_expires_in_hours = 720;
inline constexpr std::size_t max_metadata_bytes = 16 * 1024;

/// Validates a template spec and builds the record, filling defaults. Every refusal is
/// `400 invalid_field` naming the field, e.g. `steps[2].id must match [a-z0-9_-]{1,64}`.
/// Its id comes from `ids`.
outcome<template_record> make_template(const template_spec& spec, time_point now,
                                       const id_minter& ids = {});

/// A validated webhook: the config to store, and whether the secret was generated.
struct checked_webhook {
  webhook_config config;
  bool secret_generated = false;
};

/// Validates a webhook spec: URL (`webhook.url`), events (`webhook.events[i]`), secret
/// (`400 invalid_secret`). A URL whose host is a non-public IP address, in any spelling, is
/// `400 destination_not_allowed` unless `allow_private`; host names are checked at delivery.
outcome<checked_webhook> check_webhook(const webhook_spec& spec, bool allow_private);

/// Builds a new active run from a validated spec and its template; its id and link token
/// come from `ids`.
outcome<run_record> make_run(const run_spec& spec, const template_record& tmpl, time_point now,
                             const id_minter& ids = {});

/// The number of Unicode code points in UTF-8 text.
std::size_t utf8_length(std::string_view s);

} // namespace rundun
