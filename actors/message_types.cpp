#include "actors/message_types.hpp"

#include "actors/cluster.hpp"
#include "actors/cluster_actors.hpp"
#include "actors/messages.hpp"
#include "actors/read_messages.hpp"

#include <caf/all.hpp>

namespace rundun {

std::string_view to_code(refusal_kind k) {
  switch (k) {
  case refusal_kind::none:
    return "";
  case refusal_kind::event_not_found:
    return "event_not_found";
  case refusal_kind::webhook_disabled:
    return "webhook_disabled";
  case refusal_kind::delivery_in_progress:
    return "delivery_in_progress";
  case refusal_kind::recovery_in_progress:
    return "recovery_in_progress";
  case refusal_kind::storage_error:
    return "storage_error";
  case refusal_kind::engine_error:
    return "engine_error";
  case refusal_kind::endpoint_disabled:
    return "endpoint_disabled";
  }
  return "engine_error";
}

void register_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<run_id>("rundun.run_id");
  cfg.add_message_type<event_id>("rundun.event_id");
  cfg.add_message_type<run_command>("rundun.run_command");
  cfg.add_message_type<command_reply>("rundun.command_reply");
  cfg.add_message_type<delivery_order>("rundun.delivery_order");
  cfg.add_message_type<attempt_report>("rundun.attempt_report");
  cfg.add_message_type<redeliver_reply>("rundun.redeliver_reply");
  cfg.add_message_type<recover_reply>("rundun.recover_reply");
  cfg.add_message_type<recovery_counted>("rundun.recovery_counted");
  cfg.add_message_type<recovery_stepped>("rundun.recovery_stepped");
  cfg.add_message_type<cluster::forwarded_request>("rundun.forwarded_request");
  cfg.add_message_type<cluster::forwarded_response>("rundun.forwarded_response");
  cfg.add_message_type<read_request>("rundun.read_request");
  cfg.add_message_type<read_answer>("rundun.read_answer");
  cfg.add_message_type<cluster::identity_claim>("rundun.identity_claim");
}

} // namespace rundun
