#include "tests/support/test_pki.hpp"

#include <fstream>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdexcept>

namespace rundun::test {

namespace {

EVP_PKEY* make_key() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (!key)
    throw std::runtime_error("EC key generation failed");
  return key;
}

void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext)
    throw std::runtime_error("bad extension " + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

X509* make_cert(EVP_PKEY* subject_key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key,
                int from_days, int to_days) {
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert), long{from_days} * 86400);
  X509_gmtime_adj(X509_getm_notAfter(cert), long{to_days} * 86400);
  X509_set_pubkey(cert, subject_key);
  X509_NAME* name = X509_get_subject_name(cert);
  if (!cn.empty())
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name);
  (void)issuer_key;
  return cert;
}

std::string cert_to_pem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  auto n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

std::string key_to_pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  auto n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

std::string san_of(const std::vector<std::string>& dns, const std::vector<std::string>& ips) {
  std::string san;
  for (auto& d : dns)
    san += (san.empty() ? "" : ",") + std::string("DNS:") + d;
  for (auto& i : ips)
    san += (san.empty() ? "" : ",") + std::string("IP:") + i;
  return san;
}

} // namespace

struct test_ca::impl {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
};

test_ca::test_ca(const std::string& name) : impl_(new impl) {
  impl_->key = make_key();
  impl_->cert = make_cert(impl_->key, name, nullptr, impl_->key, -1, 365);
  add_ext(impl_->cert, impl_->cert, NID_basic_constraints, "critical,CA:TRUE");
  add_ext(impl_->cert, impl_->cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  add_ext(impl_->cert, impl_->cert, NID_subject_key_identifier, "hash");
  X509_sign(impl_->cert, impl_->key, EVP_sha256());
  cert_pem_ = cert_to_pem(impl_->cert);
}

test_ca::~test_ca() {
  X509_free(impl_->cert);
  EVP_PKEY_free(impl_->key);
  delete impl_;
}

void test_ca::write_cert(const std::filesystem::path& path) const {
  std::ofstream out{path};
  out << cert_pem_;
}

tls_identity test_ca::issue(const std::vector<std::string>& dns_names,
                            const std::vector<std::string>& ips, int from_days, int to_days,
                            const std::string& usage) const {
  auto cn = dns_names.empty() ? ips.at(0) : dns_names.at(0);
  return issue_for(cn, san_of(dns_names, ips), from_days, to_days, usage);
}

tls_identity test_ca::issue_named(const std::string& common_name,
                                  const std::vector<std::string>& dns_names, int from_days,
                                  int to_days, const std::string& usage) const {
  return issue_for(common_name, san_of(dns_names, {}), from_days, to_days, usage);
}

tls_identity test_ca::issue_for(const std::string& cn, const std::string& san, int from_days,
                                int to_days, const std::string& usage) const {
  EVP_PKEY* key = make_key();
  X509* cert = make_cert(key, cn, impl_->cert, impl_->key, from_days, to_days);
  add_ext(cert, impl_->cert, NID_basic_constraints, "CA:FALSE");
  add_ext(cert, impl_->cert, NID_key_usage, "critical,digitalSignature");
  add_ext(cert, impl_->cert, NID_ext_key_usage, usage);
  // RFC 5280: a certificate with an empty subject names its holder in a critical SAN.
  if (!san.empty())
    add_ext(cert, impl_->cert, NID_subject_alt_name, (cn.empty() ? "critical," : "") + san);
  add_ext(cert, impl_->cert, NID_authority_key_identifier, "keyid");
  X509_sign(cert, impl_->key, EVP_sha256());
  tls_identity out{cert_to_pem(cert), key_to_pem(key)};
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

tls_identity self_signed(const std::string& dns_name) {
  EVP_PKEY* key = make_key();
  X509* cert = make_cert(key, dns_name, nullptr, key, -1, 30);
  add_ext(cert, cert, NID_subject_alt_name, "DNS:" + dns_name);
  X509_sign(cert, key, EVP_sha256());
  tls_identity out{cert_to_pem(cert), key_to_pem(key)};
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

} // namespace rundun::test
