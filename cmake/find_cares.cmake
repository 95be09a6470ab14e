# c-ares, the asynchronous DNS resolver under net/resolver.cpp. Built with its own CMake,
# c-ares installs a config package `c-ares` with the target c-ares::cares; Debian 12's
# libc-ares-dev (1.18) ships only pkg-config, so then the header and library are found
# directly and wrapped as the same target.
find_package(c-ares CONFIG QUIET)
if(NOT TARGET c-ares::cares)
  find_path(CARES_INCLUDE_DIR ares.h REQUIRED)
  find_library(CARES_LIBRARY cares REQUIRED)
  add_library(c-ares::cares UNKNOWN IMPORTED)
  set_target_properties(c-ares::cares PROPERTIES
    IMPORTED_LOCATION ${CARES_LIBRARY}
    INTERFACE_INCLUDE_DIRECTORIES ${CARES_INCLUDE_DIR})
endif()
