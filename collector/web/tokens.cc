#include "tokens.hh"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <spdlog/spdlog.h>

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

namespace {

bool has_accepted_token(Storage& storage, const std::string& name, TimePoint now,
                        TokenKind* kind = nullptr) {
  for (const auto& token : storage.tokens()) {
    if (token.name == name && token.accepted_at(now)) {
      if (kind != nullptr) {
        *kind = token.kind;
      }
      return true;
    }
  }
  return false;
}

}  // namespace

std::string create_token(Storage& storage, const std::string& name, TokenKind kind, TimePoint now) {
  if (!is_valid_principal_name(name)) {
    throw std::invalid_argument("\"" + name +
                                "\" is not a valid name (1-63 letters, digits, '.', '_' or '-')");
  }
  if (has_accepted_token(storage, name, now)) {
    throw TokenNameTaken(name + " already has a token: `token rotate " + name +
                         "` gives it a new one (the old one keeps working for a grace period), "
                         "`token revoke " +
                         name + "` ends it");
  }
  std::string token = generate_token();
  storage.add_token(TokenRecord{.name = name,
                                .kind = kind,
                                .hash = hash_token(token),
                                .created_at = now,
                                .expires_at = std::nullopt,
                                .last_used_at = std::nullopt});
  return token;
}

RotatedToken rotate_token(Storage& storage, const std::string& name, std::chrono::seconds grace,
                          TimePoint now) {
  TokenKind kind = TokenKind::Agent;
  if (!has_accepted_token(storage, name, now, &kind)) {
    throw NoSuchToken(name + " has no token to rotate: `token create " + name + "` makes one");
  }
  RotatedToken rotated{.token = generate_token(), .kind = kind, .old_until = now + grace};
  rotated.replaced = storage.end_tokens(name, rotated.old_until,
                                        TokenRecord{.name = name,
                                                    .kind = kind,
                                                    .hash = hash_token(rotated.token),
                                                    .created_at = now,
                                                    .expires_at = std::nullopt,
                                                    .last_used_at = std::nullopt});
  return rotated;
}

size_t revoke_tokens(Storage& storage, const std::string& name, TimePoint now) {
  return storage.end_tokens(name, now, std::nullopt);
}

PresentedToken TokenVerifier::verify(std::string_view token, TimePoint now) {
  if (token.empty() || token.size() > kMaxTokenLength) {
    return {};
  }
  const std::string hash = hash_token(token);
  auto record = storage_.token_by_hash(hash);
  if (!record || record->hash.size() != hash.size() ||
      CRYPTO_memcmp(record->hash.data(), hash.data(), hash.size()) != 0) {
    return {};
  }
  if (!record->accepted_at(now)) {
    std::lock_guard lock(mutex_);
    const bool first = refusals_seen_.insert(hash).second;
    return PresentedToken{
        .accepted = std::nullopt, .ended = std::move(record), .first_refusal = first};
  }
  note_use(hash, now);
  return PresentedToken{.accepted = std::move(record), .ended = std::nullopt};
}

bool TokenVerifier::accepted(const std::string& hash, TimePoint now) {
  const auto record = storage_.token_by_hash(hash);
  return record && record->accepted_at(now);
}

void TokenVerifier::note_use(const std::string& hash, TimePoint now) {
  {
    std::lock_guard lock(mutex_);
    auto [written, inserted] = use_written_.try_emplace(hash, now);
    if (!inserted) {
      if (now - written->second < std::chrono::minutes(1)) {
        return;
      }
      written->second = now;
    }
  }
  try {
    storage_.token_used(hash, now);
  } catch (const StorageError& error) {
    // The request is served all the same: "last used" is for the operator's overview only.
    spdlog::warn("could not record a token's use: {}", error.what());
  }
}

}  // namespace vantage
