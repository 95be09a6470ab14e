#include "actors/idempotency.hpp"

#include <cstdio>
#include <memory>

#include <openssl/evp.h>

namespace rundun {

namespace {

/// Printable ASCII: space to tilde.
constexpr unsigned char first_printable = 0x20;
constexpr unsigned char last_printable = 0x7e;

/// Feeds a SHA-256 with length-prefixed fields, so that no two field lists hash alike.
class field_hasher {
public:
  explicit field_hasher(keyed_route route) : ctx_(EVP_MD_CTX_new()) {
    EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr);
    auto r = static_cast<unsigned char>(route);
    EVP_DigestUpdate(ctx_.get(), &r, 1);
  }
  void add(std::string_view field) {
    auto n = static_cast<std::uint64_t>(field.size());
    EVP_DigestUpdate(ctx_.get(), &n, sizeof n);
    EVP_DigestUpdate(ctx_.get(), field.data(), field.size());
  }
  void add_optional(const std::optional<std::string>& field) {
    add(std::string_view(field ? "1" : "0"));
    if (field)
      add(*field);
  }
  std::string finish() {
    std::string out(EVP_MAX_MD_SIZE, '\0');
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx_.get(), reinterpret_cast<unsigned char*>(out.data()), &n);
    out.resize(n);
    return out;
  }

private:
  struct ctx_deleter {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  std::unique_ptr<EVP_MD_CTX, ctx_deleter> ctx_;
};

std::optional<std::string> text_of(const std::optional<bool>& b) {
  return b ? std::optional<std::string>(*b ? "true" : "false") : std::nullopt;
}

std::optional<std::string> text_of(const std::optional<int>& n) {
  return n ? std::optional<std::string>(std::to_string(*n)) : std::nullopt;
}

} // namespace

std::optional<domain_error> check_idempotency_key(std::string_view key) {
  auto printable = [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u >= first_printable && u <= last_printable;
  };
  if (key.empty() || key.size() > max_idempotency_key_chars)
    return domain_error{error_kind::invalid_input,
                        "invalid_idempotency_key",
                        "the Idempotency-Key header must be 1 to 255 printable ASCII characters, "
                        "got " +
                            std::to_string(key.size()) + " characters",
                        {}};
  for (std::size_t i = 0; i < key.size(); ++i)
    if (!printable(key[i]))
      return domain_error{error_kind::invalid_input,
                          "invalid_idempotency_key",
                          "the Idempotency-Key header must be printable ASCII (0x20 to 0x7e); "
                          "the character at offset " +
                              std::to_string(i) + " is not",
                          {}};
  return std::nullopt;
}

std::string request_fingerprint(keyed_route route, std::string_view body) {
  field_hasher h(route);
  h.add(body);
  return h.finish();
}

std::string caller_fingerprint(keyed_route route, std::string_view given) {
  if (given.size() <= max_stored_fingerprint_bytes)
    return std::string(given);
  return request_fingerprint(route, given);
}

std::string spec_fingerprint(const template_spec& spec) {
  field_hasher h(keyed_route::templates);
  h.add(spec.name);
  h.add(std::to_string(spec.steps.size()));
  for (auto& s : spec.steps) {
    h.add_optional(s.id);
    h.add(s.title);
    h.add_optional(text_of(s.required));
    h.add_optional(text_of(s.photos_required));
  }
  return h.finish();
}

std::string spec_fingerprint(const run_spec& spec) {
  field_hasher h(keyed_route::runs);
  h.add(spec.source_template.value);
  // Every bit of the number, not to_string's six decimals.
  char hours[64];
  std::snprintf(hours, sizeof hours, "%a", spec.expires_in_hours);
  h.add(std::string_view(hours));
  h.add(spec.metadata_json);
  h.add(std::string_view(spec.webhook ? "1" : "0"));
  if (spec.webhook) {
    h.add(spec.webhook->url);
    h.add_optional(spec.webhook->secret);
    h.add(std::string_view(spec.webhook->events ? "1" : "0"));
    if (spec.webhook->events) {
      h.add(std::to_string(spec.webhook->events->size()));
      for (auto& e : *spec.webhook->events)
        h.add(e);
    }
  }
  return h.finish();
}

key_verdict judge(const std::optional<idempotency_record>& stored, keyed_route route,
                  std::string_view fingerprint, time_point now) {
  if (!stored || stored->expired_at(now))
    return key_verdict::fresh;
  if (stored->route == route && stored->fingerprint == fingerprint)
    return key_verdict::replay;
  return key_verdict::reused;
}

domain_error key_reused(std::string_view key, keyed_route stored_route, keyed_route route) {
  std::string why =
      stored_route == route ? "with another body" : "on " + std::string(to_string(stored_route));
  return conflict("idempotency_key_reused",
                  "the Idempotency-Key '" + std::string(key) + "' was used " + why +
                      " in the last 24 hours; use a new key for a new request");
}

domain_error key_in_progress(std::string_view key) {
  return conflict("idempotency_key_in_progress",
                  "a request with the Idempotency-Key '" + std::string(key) +
                      "' is still being handled; try again once it is answered");
}

bool keys_in_progress::claim(const std::string& key) {
  std::lock_guard lock(mtx_);
  return keys_.insert(key).second;
}

void keys_in_progress::release(const std::string& key) {
  std::lock_guard lock(mtx_);
  keys_.erase(key);
}

std::size_t keys_in_progress::size() const {
  std::lock_guard lock(mtx_);
  return keys_.size();
}

} // namespace rundun
