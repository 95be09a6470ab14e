# jemalloc, for the executables only (rundund and the load benchmark): under the engine's
# many small, cross-thread allocations it costs about 15 % less CPU per event than glibc's
# malloc (see benchmarks/README.md). The libraries never link it: an embedding program
# chooses its own allocator. Sanitizer builds keep the sanitizer's allocator.
find_library(JEMALLOC_LIBRARY jemalloc REQUIRED)
add_library(rundun::allocator UNKNOWN IMPORTED)
set_target_properties(rundun::allocator PROPERTIES IMPORTED_LOCATION ${JEMALLOC_LIBRARY})
