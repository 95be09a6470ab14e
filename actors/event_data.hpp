#pragma once

#include "persistence/model.hpp"

#include <string>
#include <vector>

namespace rundun {

/// Builders of each event type's `data` object (contract §7), as JSON text. Pure functions of
/// the run, called by the run logic when an event is created. Every object carries the run's
/// `template_id` and `metadata`.

/// `photos` are the step's photos with their thumbnails, in upload order.
std::string step_completed_data(const run_record& run, const step_state& step,
                                const std::vector<photo_with_thumbnail>& photos);
std::string step_skipped_data(const run_record& run, const step_state& step);
std::string run_completed_data(const run_record& run);
std::string run_cancelled_data(const run_record& run);
std::string run_expired_data(const run_record& run);

} // namespace rundun
