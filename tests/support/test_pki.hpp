#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace rundun::test {

/// A certificate and its private key, PEM-encoded.
struct tls_identity {
  std::string cert_pem;
  std::string key_pem;
};

/// A certificate authority made at test time (EC P-256, SHA-256), to issue server
/// certificates for local HTTPS receivers.
class test_ca {
public:
  explicit test_ca(const std::string& name = "Rundun Test CA");
  ~test_ca();
  test_ca(const test_ca&) = delete;

  const std::string& cert_pem() const { return cert_pem_; }
  /// Writes the CA certificate to `path` (for --ca-file or SSL_CERT_FILE).
  void write_cert(const std::filesystem::path& path) const;

  /// A server certificate for `dns_names` and `ips`, valid from `from_days` to `to_days`
  /// relative to now (negative: in the past), for the extended key `usage` given (a node of
  /// a cluster is a server and a client: "serverAuth,clientAuth").
  tls_identity issue(const std::vector<std::string>& dns_names, const std::vector<std::string>& ips,
                     int from_days = -1, int to_days = 30,
                     const std::string& usage = "serverAuth") const;

  /// Like `issue`, with the subject CN given apart from the DNS SANs: an empty `common_name`
  /// leaves the subject without a CN, and empty `dns_names` leave the certificate without a
  /// subjectAltName (for tests of which names a certificate carries).
  tls_identity issue_named(const std::string& common_name,
                           const std::vector<std::string>& dns_names, int from_days = -1,
                           int to_days = 30,
                           const std::string& usage = "serverAuth,clientAuth") const;

private:
  tls_identity issue_for(const std::string& cn, const std::string& san, int from_days, int to_days,
                         const std::string& usage) const;

  struct impl;
  impl* impl_;
  std::string cert_pem_;
};

/// A self-signed server certificate for `dns_name`, trusted by nobody.
tls_identity self_signed(const std::string& dns_name);

} // namespace rundun::test
