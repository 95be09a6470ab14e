#include "actors/tls_error_queue.hpp"

#include <cstdio>
#include <cstdlib>
#include <dlfcn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

namespace {

/// OpenSSL's own definition of `name`: the next one after this program's in the lookup
/// order. Aborts when there is none, which only a program without libssl could see.
template <class Fn>
Fn openssl_own(const char* name) {
  auto* fn = reinterpret_cast<Fn>(::dlsym(RTLD_NEXT, name));
  if (!fn) {
    std::fprintf(stderr, "rundund: OpenSSL's %s is not found\n", name);
    std::abort();
  }
  return fn;
}

} // namespace

// The definitions that take the place of OpenSSL's. Each clears the calling thread's error
// queue, so that SSL_get_error after it reads only what this call left.
extern "C" {

int SSL_read(SSL* ssl, void* buf, int num) {
  static auto real = openssl_own<int (*)(SSL*, void*, int)>("SSL_read");
  ERR_clear_error();
  return real(ssl, buf, num);
}

int SSL_write(SSL* ssl, const void* buf, int num) {
  static auto real = openssl_own<int (*)(SSL*, const void*, int)>("SSL_write");
  ERR_clear_error();
  return real(ssl, buf, num);
}

int SSL_connect(SSL* ssl) {
  static auto real = openssl_own<int (*)(SSL*)>("SSL_connect");
  ERR_clear_error();
  return real(ssl);
}

int SSL_accept(SSL* ssl) {
  static auto real = openssl_own<int (*)(SSL*)>("SSL_accept");
  ERR_clear_error();
  return real(ssl);
}

int SSL_do_handshake(SSL* ssl) {
  static auto real = openssl_own<int (*)(SSL*)>("SSL_do_handshake");
  ERR_clear_error();
  return real(ssl);
}

int SSL_shutdown(SSL* ssl) {
  static auto real = openssl_own<int (*)(SSL*)>("SSL_shutdown");
  ERR_clear_error();
  return real(ssl);
}

} // extern "C"

namespace rundun::cluster {

bool tls_calls_clear_the_error_queue() {
  return true;
}

} // namespace rundun::cluster
