#include "actors/tls_error_queue.hpp"

#define BOOST_TEST_MODULE tls_error_queue
#include <boost/test/unit_test.hpp>
#include <dlfcn.h>
#include <memory>
#include <openssl/err.h>
#include <openssl/ssl.h>

// A stale error on the thread's queue, left by an earlier failed call, must not make a
// healthy TLS call read as failed. The calls are made through the dynamic linker's global
// lookup, as CAF's libcaf_openssl makes them, not only through this program's own symbols.

namespace {

struct memory_client {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx{SSL_CTX_new(TLS_client_method()),
                                                        SSL_CTX_free};
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl{SSL_new(ctx.get()), SSL_free};

  memory_client() {
    // Two memory BIOs with nobody on the other side: a handshake wants to read, the usual
    // state of a non-blocking connection waiting for its peer.
    SSL_set_bio(ssl.get(), BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
    SSL_set_connect_state(ssl.get());
  }
};

void leave_a_stale_error() {
  ERR_raise(ERR_LIB_SSL, SSL_R_CERTIFICATE_VERIFY_FAILED);
  BOOST_REQUIRE(ERR_peek_error() != 0);
}

} // namespace

BOOST_AUTO_TEST_CASE(a_stale_error_does_not_make_a_waiting_handshake_read_as_failed) {
  BOOST_REQUIRE(rundun::cluster::tls_calls_clear_the_error_queue());
  using handshake_fn = int (*)(SSL*);
  for (auto name : {"SSL_connect", "SSL_do_handshake"}) {
    BOOST_TEST_CONTEXT(name) {
      auto* call = reinterpret_cast<handshake_fn>(::dlsym(RTLD_DEFAULT, name));
      BOOST_REQUIRE(call != nullptr);
      memory_client c;
      leave_a_stale_error();
      auto ret = call(c.ssl.get());
      BOOST_TEST(ret == -1);
      BOOST_TEST(SSL_get_error(c.ssl.get(), ret) == SSL_ERROR_WANT_READ);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_stale_error_does_not_make_a_read_or_write_read_as_failed) {
  using read_fn = int (*)(SSL*, void*, int);
  using write_fn = int (*)(SSL*, const void*, int);
  auto* read = reinterpret_cast<read_fn>(::dlsym(RTLD_DEFAULT, "SSL_read"));
  auto* write = reinterpret_cast<write_fn>(::dlsym(RTLD_DEFAULT, "SSL_write"));
  BOOST_REQUIRE(read != nullptr);
  BOOST_REQUIRE(write != nullptr);
  memory_client c;
  char buf[16];
  leave_a_stale_error();
  auto r = read(c.ssl.get(), buf, sizeof buf);
  BOOST_TEST(SSL_get_error(c.ssl.get(), r) == SSL_ERROR_WANT_READ);
  leave_a_stale_error();
  auto w = write(c.ssl.get(), "x", 1);
  BOOST_TEST(SSL_get_error(c.ssl.get(), w) == SSL_ERROR_WANT_READ);
}

BOOST_AUTO_TEST_CASE(a_stale_error_is_what_makes_ssl_get_error_misread) {
  // The control: the same waiting handshake, with an error left on the queue after the
  // call, reads as failed. This is the misreading the definitions prevent; if it ever stops
  // happening, OpenSSL no longer consults the queue this way and the definitions can go.
  memory_client c;
  auto ret = SSL_connect(c.ssl.get());
  leave_a_stale_error();
  BOOST_TEST(SSL_get_error(c.ssl.get(), ret) == SSL_ERROR_SSL);
  ERR_clear_error();
}
