#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <span>

namespace rundun {

/// A fixed-bucket latency histogram that any thread may record into without a lock, read
/// by /metrics as a Prometheus histogram. It sits in the bottom layer because every layer
/// records into one: the store (commit latency), the engine (delivery latency) and the API
/// (request latency).
///
/// `Bounds` are the buckets' upper bounds in seconds, ascending; the `+Inf` bucket is implied.
class latency_histogram {
public:
  explicit latency_histogram(std::span<const double> bounds) : bounds_(bounds) {}
  latency_histogram(const latency_histogram&) = delete;
  latency_histogram& operator=(const latency_histogram&) = delete;

  /// Counts one observation. Negative durations (a clock step) count as zero.
  void record(std::chrono::microseconds d) {
    auto micros = d.count() < 0 ? 0 : d.count();
    auto seconds = static_cast<double>(micros) / 1e6;
    std::size_t i = 0;
    while (i < bounds_.size() && seconds > bounds_[i])
      ++i;
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    sum_micros_.fetch_add(static_cast<std::uint64_t>(micros), std::memory_order_relaxed);
  }

  /// A consistent-enough copy for rendering: per-bucket (not cumulative) counts, the last
  /// one for `+Inf`, and the sum of all observations in seconds.
  struct snapshot {
    std::span<const double> bounds;
    std::array<std::uint64_t, 32> counts{};
    double sum_seconds = 0;
  };

  snapshot read() const {
    snapshot s;
    s.bounds = bounds_;
    for (std::size_t i = 0; i <= bounds_.size(); ++i)
      s.counts[i] = counts_[i].load(std::memory_order_relaxed);
    s.sum_seconds = static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6;
    return s;
  }

private:
  std::span<const double> bounds_;
  std::array<std::atomic<std::uint64_t>, 32> counts_{};
  std::atomic<std::uint64_t> sum_micros_{0};
};

/// Buckets for work that takes milliseconds: a commit, an API request.
inline constexpr std::array<double, 14> fast_latency_bounds{
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

/// Buckets for a delivery, from its event's creation to its 2xx: from milliseconds on a
/// healthy endpoint to the retry schedule's hours.
inline constexpr std::array<double, 18> delivery_latency_bounds{
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 7200, 28800};

} // namespace rundun
