#include "tokens.hh"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <regex>
#include <stdexcept>

namespace vantage {
namespace {

constexpr size_t kTokenBytes = 32;
// A presented token longer than this cannot be one of ours; refusing it early keeps a hostile
// header from costing a hash over megabytes.
constexpr size_t kMaxTokenLength = 256;

std::string to_hex(const unsigned char* data, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    hex.push_back(kDigits[data[i] >> 4]);
    hex.push_back(kDigits[data[i] & 0x0f]);
  }
  return hex;
}

}  // namespace

std::string generate_token() {
  std::array<unsigned char, kTokenBytes> secret{};
  if (RAND_bytes(secret.data(), static_cast<int>(secret.size())) != 1) {
    throw std::runtime_error("the random generator failed (RAND_bytes)");
  }
  return std::string(kTokenPrefix) + to_hex(secret.data(), secret.size());
}

std::string hash_token(std::string_view token) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  if (EVP_Digest(token.data(), token.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed (EVP_Digest)");
  }
  return to_hex(digest.data(), size);
}

bool is_valid_principal_name(std::string_view name) {
  static const std::regex kName(R"(^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$)");
  return std::regex_match(name.begin(), name.end(), kName);
}

std::string create_token(Storage& storage, const std::string& name, TokenKind kind) {
  if (!is_valid_principal_name(name)) {
    throw std::invalid_argument("\"" + name +
                                "\" is not a valid name (1-63 letters, digits, '.', '_' or '-')");
  }
  std::string token = generate_token();
  storage.add_token(TokenRecord{name, kind, hash_token(token), std::chrono::system_clock::now()});
  return token;
}

std::optional<TokenRecord> verify_token(Storage& storage, std::string_view token) {
  if (token.empty() || token.size() > kMaxTokenLength) {
    return std::nullopt;
  }
  const std::string hash = hash_token(token);
  auto record = storage.token_by_hash(hash);
  if (!record || record->hash.size() != hash.size() ||
      CRYPTO_memcmp(record->hash.data(), hash.data(), hash.size()) != 0) {
    return std::nullopt;
  }
  return record;
}

}  // namespace vantage
