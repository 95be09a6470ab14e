#pragma once

// Calling an embedded engine from a test: commands answer through callbacks, and a command
// that is never answered must fail the test, not hang it.

#include "actors/engine.hpp"

#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace rundun::test {

/// How long a test waits for one command's answer.
constexpr std::chrono::seconds answer_limit{30};

/// A command started now, whose answer is read later: `no_answer` once `answer_limit` has
/// passed without one.
template <class T>
class pending_answer {
public:
  template <class F>
  explicit pending_answer(F&& start) : state_(std::make_shared<std::promise<outcome<T>>>()) {
    future_ = state_->get_future();
    start([s = state_](outcome<T> r) { s->set_value(std::move(r)); });
  }

  outcome<T> get() {
    if (future_.wait_for(answer_limit) != std::future_status::ready)
      return domain_error{
          error_kind::storage, "no_answer", "the command got no answer in 30 s", {}};
    return future_.get();
  }

private:
  std::shared_ptr<std::promise<outcome<T>>> state_;
  std::future<outcome<T>> future_;
};

/// Starts a command and waits for its answer (at most `answer_limit`).
template <class T, class F>
outcome<T> wait(F&& start) {
  return pending_answer<T>{std::forward<F>(start)}.get();
}

/// Engine options for tests: the data dir, a 100 ms retry schedule, the given delivery
/// timeout, and loopback destinations allowed (the receivers are on 127.0.0.1).
inline engine_options engine_options_for(const std::filesystem::path& dir,
                                         std::chrono::milliseconds delivery_timeout) {
  engine_options o;
  o.data_dir = dir;
  o.retry = *net::parse_retry_schedule("100ms,100ms");
  o.delivery_timeout = delivery_timeout;
  o.allow_private_destinations = true;
  return o;
}

/// A template with a required step `kitchen` and an optional step `notes`.
inline template_spec checklist() {
  return {"Checkout",
          {{std::string("kitchen"), "Kitchen", std::nullopt, std::nullopt},
           {std::string("notes"), "Notes", false, std::nullopt}}};
}

} // namespace rundun::test
