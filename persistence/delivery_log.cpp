#include "persistence/delivery_log.hpp"

#include "persistence/big_endian.hpp"

#include <cstring>

namespace rundun::persistence {

namespace {

// The layout of a step, version 1 (integers little-endian, as this machine stores them):
//   u8 version, u8 flags, u8 status, u32 round_failures,
//   [i64 next_attempt_at ms]             when flags & has_next
//   [u16 length, bytes]                  the error, when flags & has_error
//   [u32 attempt, i64 at ms, i64 duration ms,
//    [i32 status code]                   when flags & attempt_has_status
//    [u16 length, bytes]]                the attempt's error, when flags & attempt_has_error
//                                        the attempt, when flags & has_attempt
constexpr std::uint8_t step_version = 1;
constexpr std::uint8_t has_next = 1;
constexpr std::uint8_t has_error = 2;
constexpr std::uint8_t has_attempt = 4;
constexpr std::uint8_t attempt_has_status = 8;
constexpr std::uint8_t attempt_has_error = 16;
/// Errors are short reasons (`connect: Connection refused`); a longer one is cut here.
constexpr std::size_t max_error_bytes = 1024;

template <class T>
void put(std::string& out, T x) {
  char bytes[sizeof x];
  std::memcpy(bytes, &x, sizeof x);
  out.append(bytes, sizeof x);
}

void put_text(std::string& out, std::string_view s) {
  s = s.substr(0, max_error_bytes);
  put(out, static_cast<std::uint16_t>(s.size()));
  out.append(s);
}

/// Reads what `put` wrote; false once the bytes run out.
class reader {
public:
  explicit reader(std::string_view bytes) : rest_(bytes) {}

  template <class T>
  bool get(T& x) {
    if (rest_.size() < sizeof x)
      return false;
    std::memcpy(&x, rest_.data(), sizeof x);
    rest_.remove_prefix(sizeof x);
    return true;
  }

  bool get_text(std::optional<std::string>& s) {
    std::uint16_t n = 0;
    if (!get(n) || rest_.size() < n)
      return false;
    s.emplace(rest_.substr(0, n));
    rest_.remove_prefix(n);
    return true;
  }

  bool done() const { return rest_.empty(); }

private:
  std::string_view rest_;
};

} // namespace

delivery_step step_between(const delivery_state& before, const delivery_state& after) {
  delivery_step s;
  if (after.attempts.size() > before.attempts.size())
    s.attempt = after.attempts.back();
  s.status = after.status;
  s.next_attempt_at = after.next_attempt_at;
  s.error = after.error;
  s.round_failures = after.round_failures;
  return s;
}

std::string step_key(std::uint64_t event_seq, std::uint64_t step_seq) {
  return big_endian(event_seq) + big_endian(step_seq);
}

std::string step_prefix(std::uint64_t event_seq) {
  return big_endian(event_seq);
}

std::string encode(const delivery_step& s) {
  std::uint8_t flags = 0;
  if (s.next_attempt_at)
    flags |= has_next;
  if (s.error)
    flags |= has_error;
  if (s.attempt) {
    flags |= has_attempt;
    if (s.attempt->status_code)
      flags |= attempt_has_status;
    if (s.attempt->error)
      flags |= attempt_has_error;
  }
  std::string out;
  out.reserve(48);
  put(out, step_version);
  put(out, flags);
  put(out, static_cast<std::uint8_t>(s.status));
  put(out, static_cast<std::uint32_t>(s.round_failures));
  if (s.next_attempt_at)
    put(out, to_unix_ms(*s.next_attempt_at));
  if (s.error)
    put_text(out, *s.error);
  if (auto& a = s.attempt) {
    put(out, static_cast<std::uint32_t>(a->attempt));
    put(out, to_unix_ms(a->at));
    put(out, a->duration_ms);
    if (a->status_code)
      put(out, static_cast<std::int32_t>(*a->status_code));
    if (a->error)
      put_text(out, *a->error);
  }
  return out;
}

std::optional<delivery_step> decode_step(std::string_view bytes) {
  reader in{bytes};
  std::uint8_t version = 0, flags = 0, status = 0;
  std::uint32_t round = 0;
  if (!in.get(version) || version != step_version || !in.get(flags) || !in.get(status) ||
      !in.get(round) || status > static_cast<std::uint8_t>(delivery_status::not_subscribed))
    return std::nullopt;
  delivery_step s;
  s.status = static_cast<delivery_status>(status);
  s.round_failures = static_cast<int>(round);
  std::int64_t ms = 0;
  if (flags & has_next) {
    if (!in.get(ms))
      return std::nullopt;
    s.next_attempt_at = from_unix_ms(ms);
  }
  if ((flags & has_error) && !in.get_text(s.error))
    return std::nullopt;
  if (flags & has_attempt) {
    attempt_record a;
    std::uint32_t number = 0;
    if (!in.get(number) || !in.get(ms) || !in.get(a.duration_ms))
      return std::nullopt;
    a.attempt = static_cast<int>(number);
    a.at = from_unix_ms(ms);
    std::int32_t code = 0;
    if (flags & attempt_has_status) {
      if (!in.get(code))
        return std::nullopt;
      a.status_code = code;
    }
    if ((flags & attempt_has_error) && !in.get_text(a.error))
      return std::nullopt;
    s.attempt = std::move(a);
  }
  if (!in.done())
    return std::nullopt;
  return s;
}

void fold(delivery_state& d, delivery_step s) {
  if (s.attempt)
    d.attempts.push_back(std::move(*s.attempt));
  d.status = s.status;
  d.next_attempt_at = s.next_attempt_at;
  d.error = std::move(s.error);
  d.round_failures = s.round_failures;
}

bool is_first_attempt(const delivery_change& c) {
  return c.step.attempt && c.step.attempt->attempt == 1;
}

} // namespace rundun::persistence
