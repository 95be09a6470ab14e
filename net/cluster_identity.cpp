#include "net/cluster_identity.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <system_error>

namespace rundun::net {

namespace {

// The cluster's credential files are a few KiB of PEM; the bound only keeps a wrong path
// (a log, /dev/zero) from being read whole.
constexpr std::size_t max_credential_file_bytes = 1 << 20;

// Where each variable field of a statement starts; the tags make a hello and a welcome (and
// any later statement) different messages whatever their fields hold.
constexpr std::string_view hello_tag = "rundun-cluster-hello-v1\n";
constexpr std::string_view welcome_tag = "rundun-cluster-welcome-v1\n";

// What `load` signs to find out that the key can sign at all: X509_check_private_key accepts
// a key-agreement key (X25519, DH) that matches its certificate but cannot sign.
constexpr std::string_view probe_statement = "rundun-cluster-identity-probe-v1\n";

template <class T, void (*Free)(T*)>
struct openssl_free {
  void operator()(T* p) const noexcept { Free(p); }
};

void free_stack_only(STACK_OF(X509) * s) {
  // The stack is a view: its certificates are owned by a std::vector<x509_ptr>.
  sk_X509_free(s);
}

void free_openssl_bytes(unsigned char* p) {
  OPENSSL_free(p);
}

using x509_ptr = std::unique_ptr<X509, openssl_free<X509, X509_free>>;
using x509_view_stack_ptr =
    std::unique_ptr<STACK_OF(X509), openssl_free<STACK_OF(X509), free_stack_only>>;
using x509_store_ptr = std::unique_ptr<X509_STORE, openssl_free<X509_STORE, X509_STORE_free>>;
using x509_store_ctx_ptr =
    std::unique_ptr<X509_STORE_CTX, openssl_free<X509_STORE_CTX, X509_STORE_CTX_free>>;
using evp_pkey_ptr = std::unique_ptr<EVP_PKEY, openssl_free<EVP_PKEY, EVP_PKEY_free>>;
using evp_md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, openssl_free<EVP_MD_CTX, EVP_MD_CTX_free>>;
using bio_ptr = std::unique_ptr<BIO, openssl_free<BIO, BIO_free_all>>;
using general_names_ptr =
    std::unique_ptr<GENERAL_NAMES, openssl_free<GENERAL_NAMES, GENERAL_NAMES_free>>;
using openssl_bytes_ptr =
    std::unique_ptr<unsigned char, openssl_free<unsigned char, free_openssl_bytes>>;

// Empties the thread's OpenSSL error queue on entry, so that what this code reads there is
// its own, and on every way out: an error left on the queue makes the next SSL_get_error on
// this thread misread a healthy connection as failed (CAF's TLS calls do not clear it first).
class clean_error_queue {
public:
  clean_error_queue() noexcept { ERR_clear_error(); }
  ~clean_error_queue() { ERR_clear_error(); }
  clean_error_queue(const clean_error_queue&) = delete;
  clean_error_queue& operator=(const clean_error_queue&) = delete;
};

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// A read-only memory BIO over `s`; the callers bound `s` far below INT_MAX.
bio_ptr memory_bio(std::string_view s) {
  return bio_ptr{BIO_new_mem_buf(s.data(), static_cast<int>(s.size()))};
}

// Whether the last PEM read stopped because no further PEM block of its kind was there (the
// normal end of the input) rather than at a malformed block.
bool no_more_pem_blocks() {
  const auto e = ERR_peek_last_error();
  return ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
}

// The certificates of `pem`, in order, or std::nullopt when one of its certificate blocks is
// malformed. Other PEM blocks and any text between blocks are skipped, as OpenSSL does.
std::optional<std::vector<x509_ptr>> read_certificates(std::string_view pem) {
  auto bio = memory_bio(pem);
  if (!bio)
    return std::nullopt;
  std::vector<x509_ptr> certs;
  for (;;) {
    x509_ptr cert{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)};
    if (!cert)
      break;
    certs.push_back(std::move(cert));
  }
  if (!no_more_pem_blocks())
    return std::nullopt;
  ERR_clear_error();
  return certs;
}

// The digest to sign with: none for the keys that hash the message themselves (EdDSA),
// SHA-256 for the others (EC, RSA, RSA-PSS).
const EVP_MD* digest_for(const EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "ED25519") || EVP_PKEY_is_a(key, "ED448"))
    return nullptr;
  return EVP_sha256();
}

// The signature of `statement` with `key`, or an empty string when OpenSSL cannot make one.
// A fresh context per call keeps concurrent signing with one key thread-safe.
std::string sign(EVP_PKEY* key, std::string_view statement) {
  evp_md_ctx_ptr ctx{EVP_MD_CTX_new()};
  std::size_t size = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, digest_for(key), nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &size, bytes(statement), statement.size()) != 1)
    return {};
  std::string signature(size, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size,
                     bytes(statement), statement.size()) != 1)
    return {};
  // An ECDSA signature is often shorter than the size announced for the key.
  signature.resize(size);
  return signature;
}

// Whether `signature` is `key`'s over `statement`.
bool signature_verifies(EVP_PKEY* key, std::string_view statement, std::string_view signature) {
  evp_md_ctx_ptr ctx{EVP_MD_CTX_new()};
  return ctx && key &&
         EVP_DigestVerifyInit(ctx.get(), nullptr, digest_for(key), nullptr, key) == 1 &&
         EVP_DigestVerify(ctx.get(), bytes(signature), signature.size(), bytes(statement),
                          statement.size()) == 1;
}

// The names `cert` carries: each subject CN (as UTF-8), then each DNS subjectAltName, as
// their bytes. A CN that does not convert to UTF-8 is left out.
std::vector<std::string> names_of(const X509* cert) {
  std::vector<std::string> names;
  const X509_NAME* subject = X509_get_subject_name(cert);
  for (int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(subject, NID_commonName, i)) {
    unsigned char* utf8 = nullptr;
    const int size =
        ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i)));
    const openssl_bytes_ptr owned{utf8};
    if (size >= 0)
      names.emplace_back(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(size));
  }
  const general_names_ptr sans{
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr))};
  for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(sans.get(), i);
    if (name->type != GEN_DNS)
      continue;
    const ASN1_STRING* dns = name->d.dNSName;
    names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                       static_cast<std::size_t>(ASN1_STRING_length(dns)));
  }
  return names;
}

// Whether `cert` names `node_id` in its CN or a DNS SAN: equal bytes, no case folding, no
// wildcards.
bool certificate_names(const X509* cert, std::string_view node_id) {
  const auto names = names_of(cert);
  return std::find(names.begin(), names.end(), node_id) != names.end();
}

// The chain as PEM, written anew from the parsed certificates: the certificate file may hold
// other blocks (a private key, when cert and key share a file) and comments, which must not
// travel to peers.
std::optional<std::string> to_pem(const std::vector<x509_ptr>& certs) {
  bio_ptr bio{BIO_new(BIO_s_mem())};
  if (!bio)
    return std::nullopt;
  for (const auto& cert : certs)
    if (PEM_write_bio_X509(bio.get(), cert.get()) != 1)
      return std::nullopt;
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  if (size < 0)
    return std::nullopt;
  return std::string(data, static_cast<std::size_t>(size));
}

// The start of every message of `load`, naming the file, so that the operator knows which
// one to fix.
std::string in_file(std::string_view role, const std::string& path) {
  return std::string(role) + " file " + path + ": ";
}

// Why the file at `path` cannot be read, from the `errno` of the call that failed.
std::string cannot_read(std::string_view role, const std::string& path, int error) {
  return in_file(role, path) + "cannot be read (" + std::generic_category().message(error) + ")";
}

// The whole of the file at `path`, or a message that names it and says why it cannot be read.
// (Value and error are both strings here, so each return says which it is.)
boost::system::result<std::string, std::string> read_file(std::string_view role,
                                                          const std::string& path) {
  using boost::system::in_place_error;
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file{std::fopen(path.c_str(), "rb"),
                                                             &std::fclose};
  if (!file)
    return {in_place_error, cannot_read(role, path, errno)};
  constexpr std::size_t read_chunk_bytes = 4096;
  std::string content;
  char buffer[read_chunk_bytes];
  for (;;) {
    const std::size_t n = std::fread(buffer, 1, sizeof buffer, file.get());
    content.append(buffer, n);
    if (content.size() > max_credential_file_bytes)
      return {in_place_error, in_file(role, path) + "is larger than " +
                                  std::to_string(max_credential_file_bytes) +
                                  " bytes, which no PEM credential file is"};
    if (n < sizeof buffer)
      break;
  }
  if (std::ferror(file.get()))
    return {in_place_error, cannot_read(role, path, errno)};
  return {boost::system::in_place_value, std::move(content)};
}

// The certificates of the file at `path`, at least one, or a message that names the file.
boost::system::result<std::vector<x509_ptr>, std::string>
read_certificate_file(std::string_view role, const std::string& path) {
  auto content = read_file(role, path);
  if (!content)
    return content.error();
  auto certs = read_certificates(*content);
  if (!certs)
    return in_file(role, path) + "holds a malformed PEM certificate";
  if (certs->empty())
    return in_file(role, path) + "holds no PEM certificate (-----BEGIN CERTIFICATE-----)";
  return std::move(*certs);
}

// The passphrase callback of PEM_read_bio_PrivateKey: a daemon has nobody to ask, so it
// notes that a passphrase was wanted and gives none (without a callback, OpenSSL would
// prompt on the terminal).
int refuse_passphrase(char*, int, int, void* asked) {
  *static_cast<bool*>(asked) = true;
  return -1;
}

} // namespace

std::string_view to_string(identity_refusal r) {
  switch (r) {
  case identity_refusal::malformed_certificate:
    return "malformed_certificate";
  case identity_refusal::untrusted_certificate:
    return "untrusted_certificate";
  case identity_refusal::wrong_node:
    return "wrong_node";
  case identity_refusal::bad_signature:
    return "bad_signature";
  case identity_refusal::stale:
    return "stale";
  }
  return "unknown";
}

namespace {

// `name:<size>:<value>\n`: with the size in front, no value can end early or run into the
// next field, whatever bytes it holds (a nonce is any bytes).
void append_field(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ':';
  out += std::to_string(value.size());
  out += ':';
  out += value;
  out += '\n';
}

} // namespace

std::string hello_statement(std::string_view from, std::string_view to, std::int64_t at_ms,
                            std::string_view nonce) {
  std::string out{hello_tag};
  append_field(out, "from", from);
  append_field(out, "to", to);
  append_field(out, "at", std::to_string(at_ms));
  append_field(out, "nonce", nonce);
  return out;
}

std::string welcome_statement(std::string_view from, std::string_view to, std::string_view nonce) {
  std::string out{welcome_tag};
  append_field(out, "from", from);
  append_field(out, "to", to);
  append_field(out, "nonce", nonce);
  return out;
}

bool fresh(std::int64_t at_ms, std::int64_t now_ms, std::chrono::milliseconds window) noexcept {
  if (window.count() < 0)
    return false;
  // The distance in unsigned arithmetic: `at_ms` comes from a peer and may be anything, and
  // the difference of two signed 64-bit values can overflow. Modulo 2^64 it is exact.
  const auto at = static_cast<std::uint64_t>(at_ms);
  const auto now = static_cast<std::uint64_t>(now_ms);
  const std::uint64_t distance = at_ms >= now_ms ? at - now : now - at;
  return distance <= static_cast<std::uint64_t>(window.count());
}

struct cluster_identity::impl {
  x509_ptr certificate;
  evp_pkey_ptr key;
  x509_store_ptr trusted;
  // The chain sent in every proof, encoded once at load.
  std::string chain_pem;
};

cluster_identity::cluster_identity(std::unique_ptr<impl> i) : impl_(std::move(i)) {}
cluster_identity::~cluster_identity() = default;
cluster_identity::cluster_identity(cluster_identity&&) noexcept = default;
cluster_identity& cluster_identity::operator=(cluster_identity&&) noexcept = default;

boost::system::result<cluster_identity, std::string>
cluster_identity::load(const std::string& cert_file, const std::string& key_file,
                       const std::string& ca_file) {
  constexpr std::string_view cert_role = "cluster certificate";
  constexpr std::string_view key_role = "cluster key";
  constexpr std::string_view ca_role = "cluster CA";
  const clean_error_queue clean;
  auto i = std::make_unique<impl>();

  auto chain = read_certificate_file(cert_role, cert_file);
  if (!chain)
    return chain.error();
  auto chain_pem = to_pem(*chain);
  if (!chain_pem)
    return in_file(cert_role, cert_file) + "its certificates could not be encoded as PEM";
  if (chain_pem->size() > max_proof_certificate_bytes)
    return in_file(cert_role, cert_file) + "its certificates take " +
           std::to_string(chain_pem->size()) + " bytes of PEM, more than the " +
           std::to_string(max_proof_certificate_bytes) + " a peer accepts";
  i->chain_pem = std::move(*chain_pem);
  i->certificate = std::move(chain->front());

  auto key_pem = read_file(key_role, key_file);
  if (!key_pem)
    return key_pem.error();
  bool passphrase_asked = false;
  auto key_bio = memory_bio(*key_pem);
  if (key_bio)
    i->key.reset(
        PEM_read_bio_PrivateKey(key_bio.get(), nullptr, &refuse_passphrase, &passphrase_asked));
  if (!i->key) {
    if (passphrase_asked)
      return in_file(key_role, key_file) +
             "the key is encrypted with a passphrase; give it unencrypted, readable only by "
             "rundund";
    // OpenSSL's decoders report a file without a key and a malformed key alike; the label
    // of a PEM key block ("PRIVATE KEY", "EC PRIVATE KEY", …) tells them apart.
    constexpr std::string_view private_key_label = "PRIVATE KEY-----";
    if (key_pem->find(private_key_label) == std::string::npos)
      return in_file(key_role, key_file) + "holds no PEM private key (-----BEGIN PRIVATE KEY-----)";
    return in_file(key_role, key_file) + "holds a malformed or unsupported PEM private key";
  }
  if (X509_check_private_key(i->certificate.get(), i->key.get()) != 1)
    return in_file(key_role, key_file) + "the key does not belong to the certificate in " +
           cert_file;
  if (sign(i->key.get(), probe_statement).empty())
    return in_file(key_role, key_file) + "a key of type " + EVP_PKEY_get0_type_name(i->key.get()) +
           " cannot sign; use an EC, RSA or Ed25519 key";

  auto authorities = read_certificate_file(ca_role, ca_file);
  if (!authorities)
    return authorities.error();
  i->trusted.reset(X509_STORE_new());
  if (!i->trusted)
    return in_file(ca_role, ca_file) + "OpenSSL could not make a certificate store";
  for (const auto& authority : *authorities)
    if (X509_STORE_add_cert(i->trusted.get(), authority.get()) != 1)
      return in_file(ca_role, ca_file) + "OpenSSL could not add its certificate to the store";

  return cluster_identity{std::move(i)};
}

bool cluster_identity::names(std::string_view node_id) const {
  const clean_error_queue clean;
  return certificate_names(impl_->certificate.get(), node_id);
}

std::vector<std::string> cluster_identity::names() const {
  const clean_error_queue clean;
  return names_of(impl_->certificate.get());
}

identity_proof cluster_identity::prove(std::string_view statement) const {
  const clean_error_queue clean;
  return {impl_->chain_pem, sign(impl_->key.get(), statement)};
}

std::optional<identity_refusal> cluster_identity::verify(const identity_proof& proof,
                                                         std::string_view claimed_node,
                                                         std::string_view statement) const {
  const clean_error_queue clean;
  // A peer sends these: bound them before OpenSSL parses anything.
  if (proof.certificate_pem.empty() || proof.certificate_pem.size() > max_proof_certificate_bytes)
    return identity_refusal::malformed_certificate;
  if (proof.signature.empty() || proof.signature.size() > max_proof_signature_bytes)
    return identity_refusal::bad_signature;

  auto certs = read_certificates(proof.certificate_pem);
  if (!certs || certs->empty())
    return identity_refusal::malformed_certificate;
  X509* leaf = certs->front().get();

  // Intermediates after the leaf are untrusted candidates for the path; only the cluster CA
  // is a trust anchor. No purpose is set: a node's certificate is both a TLS server's and a
  // client's. The dates are checked against the current time.
  x509_view_stack_ptr intermediates{sk_X509_new_null()};
  if (!intermediates)
    return identity_refusal::untrusted_certificate;
  for (std::size_t n = 1; n < certs->size(); ++n)
    if (sk_X509_push(intermediates.get(), (*certs)[n].get()) <= 0)
      return identity_refusal::untrusted_certificate;
  x509_store_ctx_ptr ctx{X509_STORE_CTX_new()};
  if (!ctx ||
      X509_STORE_CTX_init(ctx.get(), impl_->trusted.get(), leaf, intermediates.get()) != 1 ||
      X509_verify_cert(ctx.get()) != 1)
    return identity_refusal::untrusted_certificate;

  if (!certificate_names(leaf, claimed_node))
    return identity_refusal::wrong_node;
  if (!signature_verifies(X509_get0_pubkey(leaf), statement, proof.signature))
    return identity_refusal::bad_signature;
  return std::nullopt;
}

} // namespace rundun::net
