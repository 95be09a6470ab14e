#include "net/base64.hpp"

#include <algorithm>
#include <cctype>

#include <openssl/evp.h>

namespace rundun::net {

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0'); // EVP writes a final NUL
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  // OpenSSL decodes; the strictness is ours. EVP_DecodeBlock skips surrounding whitespace
  // and takes `=` where it should not, so only the alphabet, then at most two `=` at the
  // very end, in a length that is a multiple of four, get that far.
  if (text.size() % 4 != 0)
    return std::nullopt;
  auto data = text.substr(0, text.find_last_not_of('=') + 1);
  auto pad = text.size() - data.size();
  auto in_alphabet = [](unsigned char c) { return std::isalnum(c) || c == '+' || c == '/'; };
  if (pad > 2 || !std::all_of(data.begin(), data.end(), in_alphabet))
    return std::nullopt;
  std::string out(text.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0)
    return std::nullopt;
  out.resize(static_cast<std::size_t>(n) - pad); // EVP counts the padding as zero bytes
  return out;
}

} // namespace rundun::net
