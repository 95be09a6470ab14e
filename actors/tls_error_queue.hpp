#pragma once

// CAF 0.17.6's `caf::openssl` module calls SSL_read, SSL_write, SSL_connect and SSL_accept
// without first clearing OpenSSL's per-thread error queue, which OpenSSL's SSL_get_error
// manual requires. An error left on a thread by one failed handshake (a killed peer, a
// foreign certificate) then makes the next SSL_get_error on that thread misread a healthy
// connection as failed, and CAF drops it: with mutual TLS, one dead node broke the
// survivors' links in 4 kill tests of 5. h2o fixed the same bug in its PR 1448.
//
// tls_error_queue.cpp defines those OpenSSL functions in this program, so that the dynamic
// linker binds CAF's calls (and every other caller's) to them: each clears the queue, then
// calls OpenSSL's own. This header does not include CAF or OpenSSL.

namespace rundun::cluster {

/// Whether the TLS calls of this process clear OpenSSL's error queue first. Always true; the
/// cluster calls it at start, which is what links the definitions into the program.
bool tls_calls_clear_the_error_queue();

} // namespace rundun::cluster
