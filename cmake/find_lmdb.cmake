# LMDB ships no CMake config either.
find_path(LMDB_INCLUDE_DIR lmdb.h REQUIRED)
find_library(LMDB_LIBRARY lmdb REQUIRED)
add_library(lmdb::lmdb UNKNOWN IMPORTED)
set_target_properties(lmdb::lmdb PROPERTIES
  IMPORTED_LOCATION ${LMDB_LIBRARY}
  INTERFACE_INCLUDE_DIRECTORIES ${LMDB_INCLUDE_DIR})
