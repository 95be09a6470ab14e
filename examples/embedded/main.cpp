// Embedding the Rundun engine without HTTP: create a template, dispatch a run whose webhook
// points at WEBHOOK_URL (optional), complete it, and print the events it recorded.
//
//   ./embedded_example [WEBHOOK_URL]

#include "actors/engine.hpp"

#include <filesystem>
#include <future>
#include <iostream>

namespace {

/// Turns one of the engine's callbacks into a blocking call, for this example's simplicity.
template <class T, class Start>
rundun::outcome<T> wait(Start&& start) {
  std::promise<rundun::outcome<T>> p;
  auto f = p.get_future();
  start([&p](rundun::outcome<T> r) { p.set_value(std::move(r)); });
  return f.get();
}

} // namespace

int main(int argc, char** argv) {
  using namespace rundun;
  auto dir = std::filesystem::temp_directory_path() / "rundun-embedded-example";
  std::filesystem::remove_all(dir);
  engine_options opts;
  opts.data_dir = dir;
  auto opened = engine::open(opts);
  if (!opened) {
    std::cerr << opened.error().message << "\n";
    return 1;
  }
  auto& eng = **opened;

  template_spec spec{"Checkout inspection",
                     {{std::string("kitchen"), "Kitchen is clean", true, 0},
                      {std::string("notes"), "Anything broken?", false, 0}}};
  auto tmpl = wait<template_record>([&](auto cb) { eng.create_template(spec, cb); });
  if (!tmpl) {
    std::cerr << tmpl.error().message << "\n";
    return 1;
  }
  run_spec rs{tmpl->id, {}, 24, R"({"booking":"B-1234"})"};
  if (argc > 1)
    rs.webhook = webhook_spec{argv[1], std::nullopt, std::nullopt};
  // With an idempotency key, creating the run a second time (after a lost answer) returns the
  // first run again instead of making another.
  idempotency_key key{"booking-B-1234", {}};
  auto made = wait<keyed_answer<created_run>>([&](auto cb) { eng.create_run(rs, key, cb); });
  if (!made) {
    std::cerr << made.error().message << "\n";
    return 1;
  }
  auto again = wait<keyed_answer<created_run>>([&](auto cb) { eng.create_run(rs, key, cb); });
  if (!again || !again->replayed || again->created.run.id.value != made->created.run.id.value) {
    std::cerr << "error: the idempotency key did not replay the first run\n";
    return 1;
  }
  auto* run = &made->created;
  auto token = run->run.token;
  auto steps = {std::pair{run_action::answer, std::string("kitchen")},
                std::pair{run_action::skip, std::string("notes")},
                std::pair{run_action::submit, std::string()}};
  for (auto& [action, step] : steps) {
    auto r = wait<run_record>([&](auto cb) {
      eng.act(token, action, step, action == run_action::answer ? R"({"value":"yes"})" : "", cb);
    });
    if (!r) {
      std::cerr << r.error().code << ": " << r.error().message << "\n";
      return 1;
    }
  }
  auto final_run = eng.get_run(run->run.id);
  std::cout << "run " << run->run.id.value << " is " << to_string(final_run->status) << "\n";
  for (auto& e : *eng.get_events(run->run.id))
    std::cout << "  " << to_string(e.type) << " " << e.id.value << " "
              << to_string(e.delivery.status) << "\n";
  return 0;
}
