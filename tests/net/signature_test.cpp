#include "net/signature.hpp"

#include "net/base64.hpp"
#include "tests/support/vectors.hpp"

#define BOOST_TEST_MODULE signature
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <limits>
#include <openssl/evp.h>
#include <openssl/hmac.h>

using namespace rundun::net;

BOOST_AUTO_TEST_CASE(every_standard_webhooks_vector_matches) {
  auto vectors = rundun::test::standard_webhooks_vectors();
  BOOST_REQUIRE_GE(vectors.size(), 9u);
  for (auto& v : vectors) {
    auto& o = v.as_object();
    std::string secret(o.at("secret").as_string());
    auto key = base64_decode(secret.substr(secret_prefix.size()));
    BOOST_REQUIRE(key);
    webhook_signer signer{*key};
    auto sig = signer.sign(std::string(o.at("msg_id").as_string()),
                           o.at("timestamp").to_number<std::int64_t>(),
                           std::string(o.at("payload").as_string()));
    BOOST_TEST(sig == std::string(o.at("signature").as_string()), "vector " << o.at("msg_id"));
  }
}

BOOST_AUTO_TEST_CASE(a_signer_gives_the_same_signature_every_time) {
  webhook_signer signer{*parse_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")};
  auto a = signer.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, "{\"test\": 2432232314}");
  auto b = signer.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, "{\"test\": 2432232314}");
  BOOST_TEST(a == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  BOOST_TEST(a == b);
}

BOOST_AUTO_TEST_CASE(sign_into_writes_what_sign_returns) {
  webhook_signer signer{*parse_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")};
  for (std::int64_t ts :
       {std::int64_t{0}, std::int64_t{1614265330}, std::int64_t{-1},
        std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max()}) {
    char out[signature_size];
    auto view = signer.sign_into(out, "msg_1", ts, "{}");
    BOOST_TEST(view.size() == signature_size);
    BOOST_TEST(view == signer.sign("msg_1", ts, "{}"), ts);
  }
}

BOOST_AUTO_TEST_CASE(signatures_are_hmac_sha256_for_every_key_length) {
  // Keys of a block (64 bytes) and less are padded; longer ones are hashed first. OpenSSL's
  // one-shot HMAC is the reference.
  std::string msg_id = "msg_2";
  std::string body(1000, 'b');
  for (std::size_t length : {1u, 24u, 32u, 63u, 64u, 65u, 100u, 200u}) {
    std::string key(length, '\0');
    for (std::size_t i = 0; i < length; ++i)
      key[i] = static_cast<char>(i * 7 + 3);
    auto message = msg_id + ".1614265330." + body;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_size = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest,
         &digest_size);
    auto expected = "v1," + base64_encode({reinterpret_cast<const char*>(digest), digest_size});
    BOOST_TEST(webhook_signer{key}.sign(msg_id, 1614265330, body) == expected, length);
  }
}

BOOST_AUTO_TEST_CASE(secrets_outside_the_format_are_refused) {
  BOOST_TEST(!parse_secret(""));
  BOOST_TEST(!parse_secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));             // no prefix
  BOOST_TEST(!parse_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS"));        // bad length
  BOOST_TEST(!parse_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS!"));       // not base64
  BOOST_TEST(!parse_secret("whsec_" + base64_encode(std::string(23, 'k')))); // too short
  BOOST_TEST(!parse_secret("whsec_" + base64_encode(std::string(65, 'k')))); // too long
  BOOST_TEST(parse_secret("whsec_" + base64_encode(std::string(24, 'k'))).has_value());
  BOOST_TEST(parse_secret("whsec_" + base64_encode(std::string(64, 'k'))).has_value());
}

BOOST_AUTO_TEST_CASE(generated_secrets_parse_and_differ) {
  auto a = make_secret();
  auto b = make_secret();
  BOOST_TEST(a != b);
  BOOST_TEST(parse_secret(a)->size() == 32u);
}
