#pragma once

// A run command's answer: the run after the change, or why it was refused.

#include "persistence/domain_error.hpp"
#include "persistence/model.hpp"
#include "persistence/record_codec.hpp"

#include <string>
#include <vector>

#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/sec.hpp>

namespace rundun {

/// A command's answer: the run after the command (storage JSON), or the refusal.
struct command_reply {
  bool ok = false;
  /// The run after the change. Between actors of one node it travels as it is; only a
  /// message that leaves the node encodes it (see inspect below).
  run_record run;
  error_kind kind = error_kind::invalid_input;
  std::string code;
  std::string message;
  std::vector<std::string> steps;

  static command_reply success(run_record run) { return {true, std::move(run), {}, {}, {}, {}}; }
  static command_reply refusal(const domain_error& e) {
    return {false, {}, e.kind, e.code, e.message, e.steps};
  }
  domain_error error() const { return {kind, code, message, steps}; }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, command_reply& x) {
  // The run crosses a node as the store's encoding of it.
  std::string run_text;
  if constexpr (Inspector::reads_state)
    if (x.ok)
      run_text = encode(x.run);
  auto load = [&]() -> caf::error {
    if (!x.ok)
      return caf::none;
    auto run = decode_run(run_text);
    if (!run)
      return caf::sec::invalid_argument;
    x.run = std::move(*run);
    return caf::none;
  };
  return f(caf::meta::type_name("command_reply"), x.ok, run_text, x.kind, x.code, x.message,
           x.steps, caf::meta::load_callback(load));
}

} // namespace rundun
