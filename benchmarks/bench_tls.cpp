#include "bench_tls.hpp"

#include "tests/support/test_pki.hpp"

#include <boost/asio/buffer.hpp>
#include <openssl/ssl.h>

namespace rundun::bench {

namespace ssl = boost::asio::ssl;

receiver_tls make_receiver_tls(const std::filesystem::path& ca_file) {
  test::test_ca ca{"Rundun Bench CA"};
  ca.write_cert(ca_file);
  auto identity = ca.issue({"localhost"}, {"127.0.0.1"});
  auto server = std::make_shared<ssl::context>(ssl::context::tls_server);
  server->use_certificate_chain(boost::asio::buffer(identity.cert_pem));
  server->use_private_key(boost::asio::buffer(identity.key_pem), ssl::context::pem);
  SSL_CTX_set_min_proto_version(server->native_handle(), TLS1_2_VERSION);
  return {ca_file, std::move(server)};
}

} // namespace rundun::bench
