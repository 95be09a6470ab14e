// rundund's allocator settings. The executable links jemalloc (cmake/find_jemalloc.cmake),
// which reads this symbol at start-up.
//
// background_thread: jemalloc returns the pages that allocations freed to the kernel only
// after a decay time (10 s), and without a thread of its own it does so only when the same
// arena allocates again. A server that goes quiet after a busy hour would keep the busy
// hour's heap resident; jemalloc's own thread purges it on time instead.
extern "C" {
// NOLINTNEXTLINE: the name is jemalloc's.
extern const char* malloc_conf;
const char* malloc_conf = "background_thread:true";
}
