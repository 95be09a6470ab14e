#pragma once

// What waits for one write's commit: the first requests of the events that the write makes.
//
// A run actor hands its events' delivery orders to their endpoints as it queues the write,
// not after its commit. An endpoint actor that can send one at once signs the request and
// leaves its launch here; the store's writer, right after the commit's fsync, opens the gate
// and the request goes from the writer's thread straight to an io thread. An endpoint that
// cannot send at once waits for the commit here like any order. So a request never leaves
// before its event is durable, and the endpoint actor still decides when requests go out.
// A write that fails opens nothing: each waiter hears so instead.
//
// Plain C++, no CAF: a gate lives in one process and never crosses nodes (an order that
// would cross is sent after its commit, without one).

#include <cstdint>
#include <functional>
#include <mutex>
#include <utility>
#include <vector>

namespace rundun {

class commit_gate {
public:
  using then_fn = std::function<void(std::uint64_t commit)>;
  using otherwise_fn = std::function<void()>;

  enum class state { waiting, durable, failed };

  /// Runs `then` with the commit's mark once the write is durable, or `otherwise` if it
  /// failed: at once, on the caller's thread, if the write is done; else on the writer's,
  /// right after the commit.
  void when_durable(then_fn then, otherwise_fn otherwise);
  /// The writer: the write is durable, in commit `mark`. Runs what waits.
  void open(std::uint64_t mark);
  /// The writer: the write failed. Tells what waits.
  void fail();

  state current() const;
  /// How many wait for the write.
  std::size_t waiting() const;
  /// The commit's mark, once durable.
  std::uint64_t mark() const;

private:
  mutable std::mutex mtx_;
  state state_ = state::waiting;
  std::uint64_t mark_ = 0;
  std::vector<std::pair<then_fn, otherwise_fn>> waiting_;
};

} // namespace rundun
