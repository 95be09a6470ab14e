#pragma once

#include "net/error.hpp"

#include <memory>
#include <optional>
#include <string>

#include <boost/asio/ssl/context.hpp>

namespace rundun::net {

/// The TLS settings of webhook delivery: the system trust store (which honours
/// `SSL_CERT_FILE` and `SSL_CERT_DIR`) plus `ca_file` when given, peer verification on,
/// TLS 1.2 or newer, and a client session cache for resumption.
///
/// Made once by the engine and shared by every endpoint's connections. Errors: the CA file
/// cannot be read or holds no certificate.
result<std::shared_ptr<boost::asio::ssl::context>>
make_client_tls_context(const std::optional<std::string>& ca_file);

} // namespace rundun::net
