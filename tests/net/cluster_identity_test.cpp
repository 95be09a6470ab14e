#include "net/cluster_identity.hpp"

#include "tests/support/server_process.hpp"
#include "tests/support/test_pki.hpp"

#define BOOST_TEST_MODULE cluster_identity
#include <boost/test/unit_test.hpp>
#include <fstream>
#include <limits>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <thread>

using namespace rundun;
using namespace rundun::net;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t now_ms = 1'750'000'000'000;
constexpr std::string_view nonce = "0123456789abcdef";

/// A cluster CA with certificates for n1 and n3 (DNS SAN and CN), each in its own files, and
/// n3's credentials loaded: n3 is the node that checks the proofs.
struct identity_fixture {
  test::temp_dir dir;
  test::test_ca ca;
  std::string ca_file = write("ca.pem", ca.cert_pem());
  std::string n1_cert, n1_key, n3_cert, n3_key;
  test::tls_identity n1 = node_certificate("n1", n1_cert, n1_key);
  test::tls_identity n3 = node_certificate("n3", n3_cert, n3_key);
  cluster_identity receiver = load(n3_cert, n3_key);
  std::string hello = hello_statement("n1", "n3", now_ms, nonce);

  std::string write(const std::string& name, const std::string& content) const {
    auto path = (dir.path() / name).string();
    std::ofstream{path, std::ios::binary} << content;
    return path;
  }

  test::tls_identity node_certificate(const std::string& id, std::string& cert_file,
                                      std::string& key_file) const {
    auto t = ca.issue({id}, {"127.0.0.1"}, -1, 30, "serverAuth,clientAuth");
    cert_file = write(id + ".crt", t.cert_pem);
    key_file = write(id + ".key", t.key_pem);
    return t;
  }

  /// Credentials that must load; the test stops with the message if they do not.
  cluster_identity load(const std::string& cert, const std::string& key) const {
    return load(cert, key, ca_file);
  }
  static cluster_identity load(const std::string& cert, const std::string& key,
                               const std::string& ca) {
    auto r = cluster_identity::load(cert, key, ca);
    if (!r)
      BOOST_FAIL(r.error());
    return std::move(*r);
  }

  /// The message of credentials that must not load.
  std::string load_error(const std::string& cert, const std::string& key,
                         const std::string& ca) const {
    auto r = cluster_identity::load(cert, key, ca);
    BOOST_REQUIRE(!r);
    return r.error();
  }

  /// The credentials of `t`, issued by any CA, written to files and loaded.
  cluster_identity load_issued(const std::string& name, const test::tls_identity& t) const {
    return load(write(name + ".crt", t.cert_pem), write(name + ".key", t.key_pem));
  }
};

/// "accepted", or the name of the refusal: what a failed check prints.
std::string verdict(std::optional<identity_refusal> r) {
  return r ? std::string(to_string(*r)) : "accepted";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(cluster_identity_suite, identity_fixture)

BOOST_AUTO_TEST_CASE(a_missing_file_is_named_in_the_error) {
  auto missing = (dir.path() / "missing.pem").string();
  auto cert = load_error(missing, n1_key, ca_file);
  BOOST_TEST(cert == "cluster certificate file " + missing +
                         ": cannot be read (No such file or directory)");
  BOOST_TEST(contains(load_error(n1_cert, missing, ca_file), "cluster key file " + missing));
  BOOST_TEST(contains(load_error(n1_cert, n1_key, missing), "cluster CA file " + missing));
}

BOOST_AUTO_TEST_CASE(a_key_of_another_certificate_is_refused_as_a_mismatch) {
  auto e = load_error(n1_cert, n3_key, ca_file);
  BOOST_TEST(e == "cluster key file " + n3_key +
                      ": the key does not belong to the certificate in " + n1_cert);
}

BOOST_AUTO_TEST_CASE(files_without_pem_are_refused_with_what_they_lack) {
  auto text = write("notes.txt", "not a certificate\n");
  BOOST_TEST(contains(load_error(text, n1_key, ca_file),
                      "cluster certificate file " + text + ": holds no PEM certificate"));
  BOOST_TEST(contains(load_error(n1_cert, text, ca_file),
                      "cluster key file " + text + ": holds no PEM private key"));
  // A key is not a CA certificate.
  BOOST_TEST(contains(load_error(n1_cert, n1_key, n1_key),
                      "cluster CA file " + n1_key + ": holds no PEM certificate"));
  auto broken = write("broken.pem", "-----BEGIN CERTIFICATE-----\nnot base64!\n"
                                    "-----END CERTIFICATE-----\n");
  BOOST_TEST(contains(load_error(broken, n1_key, ca_file), "holds a malformed PEM certificate"));
  auto broken_key = write("broken.key", "-----BEGIN PRIVATE KEY-----\nnot base64!\n"
                                        "-----END PRIVATE KEY-----\n");
  BOOST_TEST(contains(load_error(n1_cert, broken_key, ca_file),
                      "cluster key file " + broken_key + ": holds a malformed"));
}

BOOST_AUTO_TEST_CASE(an_encrypted_key_is_refused_without_asking_for_a_passphrase) {
  auto plain = std::unique_ptr<BIO, decltype(&BIO_free)>{
      BIO_new_mem_buf(n1.key_pem.data(), static_cast<int>(n1.key_pem.size())), &BIO_free};
  auto key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>{
      PEM_read_bio_PrivateKey(plain.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free};
  BOOST_REQUIRE(key);
  auto out = std::unique_ptr<BIO, decltype(&BIO_free)>{BIO_new(BIO_s_mem()), &BIO_free};
  char passphrase[] = "secret";
  BOOST_REQUIRE(PEM_write_bio_PKCS8PrivateKey(out.get(), key.get(), EVP_aes_256_cbc(), nullptr, 0,
                                              nullptr, passphrase) == 1);
  char* data = nullptr;
  auto size = BIO_get_mem_data(out.get(), &data);
  auto encrypted = write("encrypted.key", std::string(data, static_cast<std::size_t>(size)));
  BOOST_TEST(contains(load_error(n1_cert, encrypted, ca_file),
                      "cluster key file " + encrypted + ": the key is encrypted"));
}

BOOST_AUTO_TEST_CASE(a_san_only_certificate_is_named_by_its_dns_names) {
  auto id = load_issued("san", ca.issue_named("", {"n1", "n1-spare"}));
  BOOST_TEST(id.names() == (std::vector<std::string>{"n1", "n1-spare"}));
  BOOST_TEST(id.names("n1"));
  BOOST_TEST(id.names("n1-spare"));
  BOOST_TEST(!id.names("N1"));
  BOOST_TEST(!id.names("n"));
  BOOST_TEST(!id.names(""));
}

BOOST_AUTO_TEST_CASE(a_cn_only_certificate_is_named_by_its_cn) {
  auto id = load_issued("cn", ca.issue_named("n1", {}));
  BOOST_TEST(id.names() == (std::vector<std::string>{"n1"}));
  BOOST_TEST(id.names("n1"));
  BOOST_TEST(!id.names("n1 "));
}

BOOST_AUTO_TEST_CASE(a_proof_by_n1_verifies_for_n1_and_its_statement) {
  auto proof = load(n1_cert, n1_key).prove(hello);
  BOOST_TEST(!proof.signature.empty());
  BOOST_TEST(verdict(receiver.verify(proof, "n1", hello)) == "accepted");
}

BOOST_AUTO_TEST_CASE(san_only_and_cn_only_certificates_prove_their_names) {
  auto san = load_issued("san", ca.issue_named("", {"n1"}));
  auto cn = load_issued("cn", ca.issue_named("n1", {}));
  BOOST_TEST(verdict(receiver.verify(san.prove(hello), "n1", hello)) == "accepted");
  BOOST_TEST(verdict(receiver.verify(cn.prove(hello), "n1", hello)) == "accepted");
}

BOOST_AUTO_TEST_CASE(a_proof_for_another_member_is_the_wrong_node) {
  auto proof = load(n1_cert, n1_key).prove(hello);
  BOOST_TEST(verdict(receiver.verify(proof, "n2", hello)) == "wrong_node");
}

BOOST_AUTO_TEST_CASE(a_proof_over_another_statement_is_a_bad_signature) {
  auto proof = load(n1_cert, n1_key).prove(hello);
  auto other = hello_statement("n1", "n3", now_ms + 1, nonce);
  BOOST_TEST(verdict(receiver.verify(proof, "n1", other)) == "bad_signature");
}

BOOST_AUTO_TEST_CASE(n3s_key_behind_n1s_certificate_is_a_bad_signature) {
  auto proof = receiver.prove(hello);
  proof.certificate_pem = n1.cert_pem;
  BOOST_TEST(verdict(receiver.verify(proof, "n1", hello)) == "bad_signature");
}

BOOST_AUTO_TEST_CASE(an_empty_or_oversized_signature_is_a_bad_signature) {
  auto proof = load(n1_cert, n1_key).prove(hello);
  proof.signature.clear();
  BOOST_TEST(verdict(receiver.verify(proof, "n1", hello)) == "bad_signature");
  proof.signature.assign(max_proof_signature_bytes + 1, 'x');
  BOOST_TEST(verdict(receiver.verify(proof, "n1", hello)) == "bad_signature");
}

BOOST_AUTO_TEST_CASE(a_certificate_from_another_ca_is_untrusted) {
  test::test_ca foreign{"Foreign CA"};
  auto other = foreign.issue({"n1"}, {"127.0.0.1"}, -1, 30, "serverAuth,clientAuth");
  auto impostor = load(write("o.crt", other.cert_pem), write("o.key", other.key_pem),
                       write("foreign-ca.pem", foreign.cert_pem()));
  BOOST_TEST(verdict(receiver.verify(impostor.prove(hello), "n1", hello)) ==
             "untrusted_certificate");
  BOOST_TEST(verdict(receiver.verify({test::self_signed("n1").cert_pem, "sig"}, "n1", hello)) ==
             "untrusted_certificate");
}

BOOST_AUTO_TEST_CASE(an_expired_certificate_is_untrusted) {
  auto expired = load_issued("expired", ca.issue({"n1"}, {}, -30, -1, "serverAuth,clientAuth"));
  BOOST_TEST(verdict(receiver.verify(expired.prove(hello), "n1", hello)) ==
             "untrusted_certificate");
}

BOOST_AUTO_TEST_CASE(garbage_empty_or_oversized_certificates_are_malformed) {
  auto proof = load(n1_cert, n1_key).prove(hello);
  auto with = [&](std::string pem) { return identity_proof{std::move(pem), proof.signature}; };
  BOOST_TEST(verdict(receiver.verify(with(""), "n1", hello)) == "malformed_certificate");
  BOOST_TEST(verdict(receiver.verify(with("garbage"), "n1", hello)) == "malformed_certificate");
  BOOST_TEST(verdict(receiver.verify(with(std::string("\0\xff\n-----", 8)), "n1", hello)) ==
             "malformed_certificate");
  BOOST_TEST(verdict(receiver.verify(
                 with("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"), "n1",
                 hello)) == "malformed_certificate");
  BOOST_TEST(verdict(receiver.verify(with(n1.cert_pem.substr(0, n1.cert_pem.size() / 2)), "n1",
                                     hello)) == "malformed_certificate");
  // A valid certificate, padded past the bound with text that PEM would skip.
  auto padded = n1.cert_pem + std::string(max_proof_certificate_bytes, '#');
  BOOST_TEST(verdict(receiver.verify(with(padded), "n1", hello)) == "malformed_certificate");
}

BOOST_AUTO_TEST_CASE(a_refusal_leaves_no_error_on_the_thread) {
  auto proof = load(n1_cert, n1_key).prove(hello);
  BOOST_TEST(verdict(receiver.verify({"garbage", proof.signature}, "n1", hello)) != "accepted");
  BOOST_TEST(ERR_peek_error() == 0u);
  BOOST_TEST(verdict(receiver.verify({test::self_signed("n1").cert_pem, "sig"}, "n1", hello)) !=
             "accepted");
  BOOST_TEST(ERR_peek_error() == 0u);
  BOOST_TEST(verdict(receiver.verify({proof.certificate_pem, "sig"}, "n1", hello)) != "accepted");
  BOOST_TEST(ERR_peek_error() == 0u);
  BOOST_TEST(!cluster_identity::load(n1_cert, n3_key, ca_file));
  BOOST_TEST(ERR_peek_error() == 0u);
}

BOOST_AUTO_TEST_CASE(a_key_in_the_certificate_file_never_travels) {
  auto both = write("both.pem", n1.cert_pem + n1.key_pem);
  auto id = load(both, both);
  auto proof = id.prove(hello);
  BOOST_TEST(!contains(proof.certificate_pem, "PRIVATE KEY"));
  BOOST_TEST(verdict(receiver.verify(proof, "n1", hello)) == "accepted");
}

BOOST_AUTO_TEST_CASE(proofs_are_made_and_checked_on_several_threads_at_once) {
  constexpr int threads = 4;
  constexpr int rounds = 25;
  auto prover = load(n1_cert, n1_key);
  std::vector<int> accepted(threads, 0);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      for (int r = 0; r < rounds; ++r) {
        auto statement = hello_statement("n1", "n3", now_ms + r, nonce);
        if (!receiver.verify(prover.prove(statement), "n1", statement))
          ++accepted[static_cast<std::size_t>(t)];
      }
    });
  for (auto& w : workers)
    w.join();
  for (int n : accepted)
    BOOST_TEST(n == rounds);
}

BOOST_AUTO_TEST_CASE(statements_differ_by_direction_and_by_kind) {
  BOOST_TEST(hello_statement("n1", "n3", now_ms, nonce) ==
             hello_statement("n1", "n3", now_ms, nonce));
  BOOST_TEST(hello_statement("n1", "n3", now_ms, nonce) !=
             hello_statement("n3", "n1", now_ms, nonce));
  BOOST_TEST(welcome_statement("n1", "n3", nonce) != welcome_statement("n3", "n1", nonce));
  BOOST_TEST(hello_statement("n1", "n3", now_ms, nonce).starts_with("rundun-cluster-hello-v1\n"));
  BOOST_TEST(welcome_statement("n3", "n1", nonce).starts_with("rundun-cluster-welcome-v1\n"));
  BOOST_TEST(welcome_statement("n1", "n3", "") != hello_statement("n1", "n3", 0, ""));
  // Fields cannot run into each other, whatever bytes the nonce holds.
  BOOST_TEST(hello_statement("n1", "n3", 1, "x\nnonce:0:") != hello_statement("n1", "n3", 1, "x"));
  BOOST_TEST(welcome_statement("n1", "n3n", "") != welcome_statement("n1", "n3", "n"));
}

BOOST_AUTO_TEST_CASE(a_signature_over_a_hello_does_not_pass_for_a_welcome) {
  auto prover = load(n1_cert, n1_key);
  auto proof = prover.prove(hello_statement("n1", "n3", now_ms, nonce));
  BOOST_TEST(verdict(receiver.verify(proof, "n1", welcome_statement("n1", "n3", nonce))) ==
             "bad_signature");
}

BOOST_AUTO_TEST_CASE(fresh_includes_its_bounds_and_survives_any_timestamp) {
  constexpr auto window = 30s;
  constexpr std::int64_t window_ms = 30'000;
  BOOST_TEST(fresh(now_ms, now_ms, window));
  BOOST_TEST(fresh(now_ms - window_ms, now_ms, window));
  BOOST_TEST(fresh(now_ms + window_ms, now_ms, window));
  BOOST_TEST(!fresh(now_ms - window_ms - 1, now_ms, window));
  BOOST_TEST(!fresh(now_ms + window_ms + 1, now_ms, window));
  BOOST_TEST(fresh(now_ms, now_ms, 0ms));
  BOOST_TEST(!fresh(now_ms + 1, now_ms, 0ms));
  BOOST_TEST(!fresh(now_ms, now_ms, -1ms));
  constexpr auto min = std::numeric_limits<std::int64_t>::min();
  constexpr auto max = std::numeric_limits<std::int64_t>::max();
  BOOST_TEST(!fresh(min, now_ms, window));
  BOOST_TEST(!fresh(max, now_ms, window));
  BOOST_TEST(!fresh(max, min, window));
  BOOST_TEST(!fresh(min, max, window));
  BOOST_TEST(fresh(max, max - window_ms, window));
}

BOOST_AUTO_TEST_CASE(refusals_have_stable_names) {
  BOOST_TEST(to_string(identity_refusal::malformed_certificate) == "malformed_certificate");
  BOOST_TEST(to_string(identity_refusal::untrusted_certificate) == "untrusted_certificate");
  BOOST_TEST(to_string(identity_refusal::wrong_node) == "wrong_node");
  BOOST_TEST(to_string(identity_refusal::bad_signature) == "bad_signature");
  BOOST_TEST(to_string(identity_refusal::stale) == "stale");
}

BOOST_AUTO_TEST_SUITE_END()
