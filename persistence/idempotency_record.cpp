#include "persistence/idempotency_record.hpp"

#include "persistence/big_endian.hpp"

namespace rundun {

namespace {

/// The value's layout: a version byte, then route, flags, the creation time (big-endian
/// milliseconds), the fingerprint's length and bytes, and the created record to the end.
constexpr char value_version = 1;
constexpr std::size_t header_bytes = 1 + 1 + 1 + 8 + 1;
constexpr unsigned char secret_generated_flag = 1;

} // namespace

std::string_view to_string(keyed_route r) {
  return r == keyed_route::templates ? "POST /v1/templates" : "POST /v1/runs";
}

std::string encode_value(const idempotency_record& r) {
  std::string out;
  out.reserve(header_bytes + r.fingerprint.size() + r.created.size());
  out.push_back(value_version);
  out.push_back(static_cast<char>(r.route));
  out.push_back(static_cast<char>(r.secret_generated ? secret_generated_flag : 0));
  out += persistence::big_endian(static_cast<std::uint64_t>(to_unix_ms(r.created_at)));
  out.push_back(static_cast<char>(r.fingerprint.size()));
  out += r.fingerprint;
  out += r.created;
  return out;
}

std::optional<idempotency_record> decode_idempotency(std::string_view key, std::string_view value) {
  if (value.size() < header_bytes || value[0] != value_version)
    return std::nullopt;
  auto route = static_cast<keyed_route>(value[1]);
  if (route != keyed_route::templates && route != keyed_route::runs)
    return std::nullopt;
  auto fingerprint_bytes = static_cast<unsigned char>(value[header_bytes - 1]);
  if (value.size() < header_bytes + fingerprint_bytes)
    return std::nullopt;
  idempotency_record r;
  r.key = std::string(key);
  r.route = route;
  r.secret_generated = (static_cast<unsigned char>(value[2]) & secret_generated_flag) != 0;
  r.created_at =
      from_unix_ms(static_cast<std::int64_t>(persistence::read_big_endian(value.substr(3, 8))));
  r.fingerprint = std::string(value.substr(header_bytes, fingerprint_bytes));
  r.created = std::string(value.substr(header_bytes + fingerprint_bytes));
  return r;
}

} // namespace rundun
