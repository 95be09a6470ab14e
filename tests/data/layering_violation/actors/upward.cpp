// A file of the actors layer that includes the api layer above it: check_layering refuses it.
#include "api/router.hpp"
