#include "persistence/run_value.hpp"

namespace rundun::persistence {

namespace {

constexpr char separator = '\0';

void put_varint(std::string& out, std::uint64_t x) {
  while (x >= 0x80) {
    out.push_back(static_cast<char>((x & 0x7f) | 0x80));
    x >>= 7;
  }
  out.push_back(static_cast<char>(x));
}

std::uint64_t zigzag(std::int64_t x) {
  return (static_cast<std::uint64_t>(x) << 1) ^ static_cast<std::uint64_t>(x >> 63);
}

std::int64_t unzigzag(std::uint64_t x) {
  return static_cast<std::int64_t>(x >> 1) ^ -static_cast<std::int64_t>(x & 1);
}

std::string_view tail(std::string_view value) {
  auto at = value.find(separator);
  return at == std::string_view::npos ? std::string_view{} : value.substr(at + 1);
}

} // namespace

std::string_view run_state_json(std::string_view value) {
  return value.substr(0, value.find(separator));
}

std::vector<std::uint64_t> run_event_seqs(std::string_view value) {
  std::vector<std::uint64_t> out;
  std::uint64_t previous = 0, x = 0;
  int shift = 0;
  for (unsigned char c : tail(value)) {
    if (shift > 63)
      return {};
    x |= static_cast<std::uint64_t>(c & 0x7f) << shift;
    if (c & 0x80) {
      shift += 7;
      continue;
    }
    previous += static_cast<std::uint64_t>(unzigzag(x));
    out.push_back(previous);
    x = 0;
    shift = 0;
  }
  if (shift != 0)
    return {}; // cut in the middle of a number
  return out;
}

std::string with_run_state(std::string_view value, std::string_view json) {
  auto events = tail(value);
  std::string out;
  out.reserve(json.size() + 1 + events.size());
  out.append(json);
  out.push_back(separator);
  out.append(events);
  return out;
}

std::string with_run_events(std::string_view value, std::span<const std::uint64_t> seqs) {
  auto listed = run_event_seqs(value);
  auto previous = listed.empty() ? 0 : listed.back();
  std::string out{value};
  if (value.find(separator) == std::string_view::npos)
    out.push_back(separator);
  for (auto seq : seqs) {
    put_varint(out, zigzag(static_cast<std::int64_t>(seq - previous)));
    previous = seq;
  }
  return out;
}

std::string with_run_event(std::string_view value, std::uint64_t seq) {
  return with_run_events(value, {&seq, 1});
}

} // namespace rundun::persistence
