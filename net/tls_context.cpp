#include "net/tls_context.hpp"

#include <openssl/ssl.h>

namespace rundun::net {

namespace ssl = boost::asio::ssl;

result<std::shared_ptr<ssl::context>>
make_client_tls_context(const std::optional<std::string>& ca_file) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  boost::system::error_code ec;
  ctx->set_default_verify_paths(ec);
  if (ec)
    return ec;
  if (ca_file) {
    ctx->load_verify_file(*ca_file, ec);
    if (ec)
      return ec;
  }
  ctx->set_verify_mode(ssl::verify_peer, ec);
  if (ec)
    return ec;
  auto* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  // Sessions are kept per endpoint by the client itself (see http_client.cpp); the context
  // only has to allow client-side caching.
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  return ctx;
}

} // namespace rundun::net
