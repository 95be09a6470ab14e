#include "actors/command_reply_to.hpp"

#include <atomic>

namespace rundun {

struct command_reply_to::state {
  answer_fn answer;
  dropped_fn dropped;
  std::atomic<bool> answered{false};

  ~state() {
    // The last copy of an unanswered slot: its command was dropped on the way.
    if (!answered.load(std::memory_order_acquire) && dropped)
      dropped();
  }
};

command_reply_to::command_reply_to(answer_fn answer, dropped_fn dropped)
    : state_(std::make_shared<state>()) {
  state_->answer = std::move(answer);
  state_->dropped = std::move(dropped);
}

void command_reply_to::deliver(command_reply reply) const {
  if (!state_ || state_->answered.exchange(true, std::memory_order_acq_rel))
    return;
  if (state_->answer)
    state_->answer(std::move(reply));
}

} // namespace rundun
