#pragma once

// load_bench's HTTP driver: answers the jobs' steps through rundund's executor routes.

#include "bench_load.hpp"

#include <chrono>
#include <cstdint>
#include <vector>

namespace rundun::bench {

/// Sends every job as `POST /r/<token>/steps/s<step>/answer` to rundund on 127.0.0.1:`port`
/// over `connections` keep-alive connections, async on the calling thread (as wrk does: 64
/// blocking client threads cost the load tool a fifth of its CPU in switching). Returns when
/// every job has been answered; requests that failed or were not answered 200 are counted
/// on stderr.
std::chrono::steady_clock::time_point drive_http(std::uint16_t port, const std::vector<job>& jobs,
                                                 std::size_t connections, pacer& pace);

} // namespace rundun::bench
