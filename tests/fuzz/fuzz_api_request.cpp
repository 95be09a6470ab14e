// libFuzzer target: the API's request bodies, from bytes to validated specs.
#include "actors/specs.hpp"
#include "api/request_parsing.hpp"

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace rundun;
  std::string_view body{reinterpret_cast<const char*>(data), size};
  auto o = api::parse_object(body, size % 2 == 0);
  if (!o)
    return 0;
  if (auto t = api::parse_template_spec(*o))
    (void)make_template(*t, now());
  if (auto r = api::parse_run_spec(*o)) {
    if (r->webhook)
      (void)check_webhook(*r->webhook, false);
    template_record tmpl{{"t-x"}, "n", {{"a", "A", true, 0}}, now()};
    (void)make_run(*r, tmpl, now());
  }
  (void)api::parse_answer(*o);
  return 0;
}
