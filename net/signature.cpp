#include "net/signature.hpp"

#include "net/base64.hpp"

#include <cstdio>
#include <cstdlib>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdexcept>

namespace rundun::net {

std::optional<std::string> parse_secret(std::string_view secret) {
  if (!secret.starts_with(secret_prefix))
    return std::nullopt;
  auto key = base64_decode(secret.substr(secret_prefix.size()));
  if (!key || key->size() < min_secret_bytes || key->size() > max_secret_bytes)
    return std::nullopt;
  return key;
}

std::string make_secret() {
  constexpr std::size_t generated_secret_bytes = 32;
  std::string key(generated_secret_bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size())) != 1) {
    // A secret from a broken generator would be guessable: refuse to go on.
    std::fputs("rundund: the system random generator failed\n", stderr);
    std::abort();
  }
  return std::string(secret_prefix) + base64_encode(key);
}

struct webhook_signer::impl {
  EVP_MAC* mac = nullptr;
  EVP_MAC_CTX* prepared = nullptr;

  ~impl() {
    EVP_MAC_CTX_free(prepared);
    EVP_MAC_free(mac);
  }
};

webhook_signer::webhook_signer(std::string_view key) : impl_(std::make_unique<impl>()) {
  impl_->mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  impl_->prepared = EVP_MAC_CTX_new(impl_->mac);
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  if (!impl_->prepared ||
      EVP_MAC_init(impl_->prepared, reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                   params) != 1)
    throw std::runtime_error("OpenSSL could not set up HMAC-SHA256");
}

webhook_signer::~webhook_signer() = default;
webhook_signer::webhook_signer(webhook_signer&&) noexcept = default;
webhook_signer& webhook_signer::operator=(webhook_signer&&) noexcept = default;

std::string webhook_signer::sign(std::string_view msg_id, std::int64_t timestamp,
                                 std::string_view body) const {
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_dup(impl_->prepared);
  auto ts = std::to_string(timestamp);
  auto feed = [ctx](std::string_view s) {
    EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(s.data()), s.size());
  };
  feed(msg_id);
  feed(".");
  feed(ts);
  feed(".");
  feed(body);
  unsigned char out[EVP_MAX_MD_SIZE];
  std::size_t len = 0;
  EVP_MAC_final(ctx, out, &len, sizeof out);
  EVP_MAC_CTX_free(ctx);
  return "v1," + base64_encode({reinterpret_cast<const char*>(out), len});
}

} // namespace rundun::net
