#pragma once

#include "persistence/clock.hpp"
#include "persistence/ids.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rundun {

/// The five things that happen to a run and that a webhook can subscribe to.
enum class event_type : std::uint8_t {
  step_completed,
  step_skipped,
  run_completed,
  run_cancelled,
  run_expired,
};

inline constexpr std::array all_event_types{event_type::step_completed, event_type::step_skipped,
                                            event_type::run_completed, event_type::run_cancelled,
                                            event_type::run_expired};

/// The wire name: `step.completed`, `run.expired`, ...
std::string_view to_string(event_type t);

/// The inverse of `to_string`; `std::nullopt` for a name that is not one of the five.
std::optional<event_type> parse_event_type(std::string_view name);

/// A step requires, and holds, at most this many photos.
inline constexpr std::size_t max_photos_per_step = 20;

/// One step as the template defines it.
struct step_def {
  std::string id;
  std::string title;
  bool required = true;
  int photos_required = 0;
};

/// A stored template. Immutable once created.
struct template_record {
  template_id id;
  std::string name;
  std::vector<step_def> steps;
  time_point created_at;
};

enum class step_status : std::uint8_t { pending, completed, skipped };
std::string_view to_string(step_status s);

/// One step of one run: its definition, copied from the template at dispatch, and its state.
struct step_state {
  step_def def;
  step_status status = step_status::pending;
  /// The answer object as JSON text, `{"value":…,"note":…}`; empty until answered.
  std::string answer_json;
  std::vector<std::string> photos;
  std::optional<time_point> completed_at;
  std::optional<time_point> skipped_at;
};

enum class run_status : std::uint8_t { active, completed, cancelled, expired };
std::string_view to_string(run_status s);

/// Why a run was cancelled.
enum class cancel_reason : std::uint8_t { api, executor_exit };
std::string_view to_string(cancel_reason r);

/// Where a run's events go. The secret is the full `whsec_…` string.
struct webhook_config {
  std::string url;
  std::vector<event_type> events;
  std::string secret;

  bool subscribes_to(event_type t) const;
};

/// A run: the unit a run actor owns while it is active.
struct run_record {
  run_id id;
  template_id source_template;
  std::string template_name;
  run_status status = run_status::active;
  std::string token;
  time_point created_at;
  time_point expires_at;
  std::optional<time_point> ended_at;
  std::optional<cancel_reason> cancelled_by;
  /// The caller's metadata object as JSON text; `{}` when none was given.
  std::string metadata_json = "{}";
  std::vector<step_state> steps;
  std::optional<webhook_config> webhook;

  bool active() const { return status == run_status::active; }
  step_state* find_step(std::string_view step_id);
};

enum class delivery_status : std::uint8_t { pending, delivered, failed, not_subscribed };
std::string_view to_string(delivery_status s);

/// An uploaded photo's metadata. Its original bytes and its thumbnail are stored apart.
struct photo_record {
  photo_id id;
  run_id run;
  std::string step;
  std::string content_type; ///< `image/jpeg` or `image/png`
  int width = 0;            ///< as displayed, after the EXIF orientation
  int height = 0;
  int thumbnail_width = 0;
  int thumbnail_height = 0;
  time_point created_at;
};

/// A photo with its thumbnail (a JPEG), as a `step.completed` event carries it.
struct photo_with_thumbnail {
  photo_record record;
  std::string thumbnail_jpeg;
};

/// One HTTP attempt to deliver one event, as the events API shows it.
struct attempt_record {
  int attempt = 0;
  time_point at;
  std::optional<int> status_code;
  std::optional<std::string> error;
  std::int64_t duration_ms = 0;
};

/// The delivery state of one event.
struct delivery_state {
  delivery_status status = delivery_status::pending;
  std::vector<attempt_record> attempts;
  std::optional<time_point> next_attempt_at;
  /// Why the event failed without (another) attempt, e.g. `endpoint_gone`.
  std::optional<std::string> error;
  /// Failed attempts since the schedule last started (at creation or at a redeliver).
  int round_failures = 0;
};

/// An event's record, without its `data` (stored apart, since it never changes).
struct event_record {
  event_id id;
  run_id run;
  event_type type = event_type::step_completed;
  time_point created_at;
  /// Global creation order; orders a run's events and the pending index.
  std::uint64_t seq = 0;
  /// The endpoint key (see `endpoint_key`) of the webhook URL; empty when not subscribed.
  std::string endpoint;
  delivery_state delivery;
};

} // namespace rundun
