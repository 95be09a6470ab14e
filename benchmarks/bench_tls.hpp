#pragma once

// The HTTPS side of the load benchmark's receivers: a CA made for the run, and a server
// certificate for 127.0.0.1 that it issued.

#include <filesystem>
#include <memory>

#include <boost/asio/ssl/context.hpp>

namespace rundun::bench {

/// What HTTPS receivers and the engine that delivers to them need.
struct receiver_tls {
  /// The CA's certificate, for the engine's `ca_file` (rundund's `--ca-file`).
  std::filesystem::path ca_file;
  /// The receivers' server context: a certificate for IP 127.0.0.1 and `localhost`, TLS 1.2
  /// or newer. Shared by every receiver; used only on their io thread once made.
  std::shared_ptr<boost::asio::ssl::context> server;
};

/// Makes a CA (EC P-256, the tests' `test_ca`), writes its certificate to `ca_file`, and
/// issues the receivers' certificate. Throws if OpenSSL refuses the key or certificate.
receiver_tls make_receiver_tls(const std::filesystem::path& ca_file);

} // namespace rundun::bench
