#pragma once

// Which node a cluster peer is (contract §9). CAF's mutual TLS checks only that a peer's
// certificate chains to the cluster CA, not which member it belongs to, and we cannot see
// CAF's TLS session. So nodes prove who they are at the application level: a node signs a
// short statement with the private key of its cluster certificate and sends the certificate
// with it; the receiver checks the certificate against the cluster CA, that it names the
// member the sender claims to be (its subject CN or a DNS subjectAltName, equal to the node
// id byte for byte), and the signature.
//
// Pure OpenSSL: no socket, no actor. Nothing here throws on any input, and every call leaves
// OpenSSL's error queue of the calling thread empty.

#include <boost/system/result.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rundun::net {

/// The most bytes of certificate PEM a peer's proof may carry; a longer one is refused as
/// `malformed_certificate` before it is parsed. A node whose own chain is longer refuses to
/// load it.
constexpr std::size_t max_proof_certificate_bytes = 64 << 10;

/// The most bytes of signature a peer's proof may carry (an RSA-8192 signature is 1 KiB);
/// a longer one is refused as `bad_signature` before it reaches OpenSSL.
constexpr std::size_t max_proof_signature_bytes = 1 << 10;

/// Why a peer's proof was refused; `to_string` gives each a stable snake_case name for logs
/// and the metric label.
enum class identity_refusal {
  malformed_certificate, ///< empty, over `max_proof_certificate_bytes`, or not PEM certificates
  untrusted_certificate, ///< does not chain to the cluster CA, or is expired or not yet valid
  wrong_node,            ///< neither its CN nor a DNS SAN is the member it claims to be
  bad_signature,         ///< empty, too long, or does not verify with the certificate's key
  stale,                 ///< a hello outside the freshness window (see `fresh`)
};

/// The stable name of `r`: `"malformed_certificate"`, `"untrusted_certificate"`, …
std::string_view to_string(identity_refusal r);

/// A proof a node sends: its certificate chain (PEM, leaf first, then the intermediates of
/// its certificate file) and its signature (raw bytes) over a statement.
struct identity_proof {
  std::string certificate_pem;
  std::string signature;
};

/// The statement node `from` signs when it says hello to member `to` at `at_ms` (Unix
/// milliseconds) with a random `nonce` (any bytes). Domain-separated from every other
/// statement, and unambiguous for any input: each variable field is length-prefixed. Pure.
std::string hello_statement(std::string_view from, std::string_view to, std::int64_t at_ms,
                            std::string_view nonce);

/// The statement the dialled node `from` signs back to the dialler `to`, over the nonce of
/// the dialler's hello (which makes it fresh without a clock). Pure, like `hello_statement`.
std::string welcome_statement(std::string_view from, std::string_view to, std::string_view nonce);

/// Whether `at_ms` is within `window` of `now_ms`, either way, bounds included: a hello
/// older or newer than that is `stale`. Safe for any `at_ms` a peer sends. Pure.
bool fresh(std::int64_t at_ms, std::int64_t now_ms, std::chrono::milliseconds window) noexcept;

/// A node's cluster credentials: its certificate chain, its private key and the cluster CA,
/// loaded once at start from the PEM files of `--cluster-cert`, `--cluster-key` and
/// `--cluster-ca`.
///
/// Immutable after `load`, so any thread may call its const members at once: each call makes
/// its own OpenSSL contexts. Move-only.
class cluster_identity {
public:
  /// Loads and checks the three files. The error is a message for the operator that names
  /// the file and what is wrong with it: it cannot be read, holds no PEM certificate (or key),
  /// holds a malformed one, the key is encrypted or cannot sign, the key does not belong to
  /// the certificate, or the chain is longer than peers accept. The caller prints it and
  /// exits. (`value()` does not compile for this error type: test the result, then use `*`.)
  /// It does not check the certificate's dates or its chain: a node checks its own
  /// certificate with `names`, and peers check it with `verify`.
  static boost::system::result<cluster_identity, std::string>
  load(const std::string& cert_file, const std::string& key_file, const std::string& ca_file);

  ~cluster_identity();
  cluster_identity(cluster_identity&&) noexcept;
  cluster_identity& operator=(cluster_identity&&) noexcept;

  /// Whether this node's own certificate names `node_id` (its CN or a DNS SAN, exactly). A
  /// node whose certificate does not name its `--node-id` refuses to start.
  bool names(std::string_view node_id) const;

  /// The names this node's certificate carries (its CNs, then its DNS SANs), for the message
  /// of a node that refuses to start.
  std::vector<std::string> names() const;

  /// This node's proof over `statement`: its certificate chain and its signature (SHA-256
  /// with an EC or RSA key, pure Ed25519 or Ed448). `load` made sure the key can sign; should
  /// OpenSSL still fail (out of memory), the signature is empty and the peer refuses it.
  identity_proof prove(std::string_view statement) const;

  /// Checks a peer's proof, in this order: the certificate parses, chains to the cluster CA
  /// (intermediates from its PEM after the leaf, validity dates against the current time),
  /// names `claimed_node` (CN or DNS SAN, exactly), and the signature over `statement`
  /// verifies with its public key. `std::nullopt` when accepted, else the first refusal.
  std::optional<identity_refusal> verify(const identity_proof& proof, std::string_view claimed_node,
                                         std::string_view statement) const;

private:
  struct impl;
  explicit cluster_identity(std::unique_ptr<impl> i);
  std::unique_ptr<impl> impl_;
};

} // namespace rundun::net
