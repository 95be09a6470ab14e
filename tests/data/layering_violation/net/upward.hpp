// The net layer may include only itself.
#include "actors/engine.hpp"
