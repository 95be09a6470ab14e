#include "actors/commit_gate.hpp"

namespace rundun {

void commit_gate::when_durable(then_fn then, otherwise_fn otherwise) {
  std::unique_lock lock{mtx_};
  switch (state_) {
  case state::waiting:
    waiting_.emplace_back(std::move(then), std::move(otherwise));
    return;
  case state::durable: {
    auto mark = mark_;
    lock.unlock();
    return then(mark);
  }
  case state::failed:
    lock.unlock();
    return otherwise();
  }
}

void commit_gate::open(std::uint64_t mark) {
  std::vector<std::pair<then_fn, otherwise_fn>> waiting;
  {
    std::lock_guard lock{mtx_};
    state_ = state::durable;
    mark_ = mark;
    waiting.swap(waiting_);
  }
  for (auto& w : waiting)
    w.first(mark);
}

void commit_gate::fail() {
  std::vector<std::pair<then_fn, otherwise_fn>> waiting;
  {
    std::lock_guard lock{mtx_};
    state_ = state::failed;
    waiting.swap(waiting_);
  }
  for (auto& w : waiting)
    w.second();
}

commit_gate::state commit_gate::current() const {
  std::lock_guard lock{mtx_};
  return state_;
}

std::size_t commit_gate::waiting() const {
  std::lock_guard lock{mtx_};
  return waiting_.size();
}

std::uint64_t commit_gate::mark() const {
  std::lock_guard lock{mtx_};
  return mark_;
}

} // namespace rundun
