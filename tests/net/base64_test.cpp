#include "net/base64.hpp"

#define BOOST_TEST_MODULE base64
#include <boost/test/unit_test.hpp>

using namespace rundun::net;

BOOST_AUTO_TEST_CASE(encodes_the_rfc_4648_examples) {
  BOOST_TEST(base64_encode("") == "");
  BOOST_TEST(base64_encode("f") == "Zg==");
  BOOST_TEST(base64_encode("fo") == "Zm8=");
  BOOST_TEST(base64_encode("foo") == "Zm9v");
  BOOST_TEST(base64_encode("foobar") == "Zm9vYmFy");
}

BOOST_AUTO_TEST_CASE(decodes_what_it_encodes) {
  std::string all;
  for (int i = 0; i < 256; ++i)
    all.push_back(static_cast<char>(i));
  for (std::size_t n = 0; n < all.size(); n += 7)
    BOOST_TEST(*base64_decode(base64_encode(all.substr(0, n))) == all.substr(0, n));
}

BOOST_AUTO_TEST_CASE(refuses_malformed_text) {
  BOOST_TEST(!base64_decode("Zg="));   // length not a multiple of 4
  BOOST_TEST(!base64_decode("Z=g="));  // padding in the middle
  BOOST_TEST(!base64_decode("Zm9-"));  // base64url alphabet
  BOOST_TEST(!base64_decode("Zm 9v")); // space
  BOOST_TEST(!base64_decode("===="));
}
