#pragma once

#include <caf/actor_system_config.hpp>

namespace rundun {

/// Registers every message type of the engine with `cfg`. Every node calls it before its
/// actor system starts, so that messages serialise between nodes.
void register_message_types(caf::actor_system_config& cfg);

} // namespace rundun
