#include "ui_sessions.hh"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <stdexcept>

#include "tokens.hh"

namespace vantage {

std::string random_secret() {
  std::array<unsigned char, 32> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    throw std::runtime_error("the system's random number generator failed");
  }
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (const unsigned char byte : bytes) {
    hex += fmt::format("{:02x}", byte);
  }
  return hex;
}

bool same_secret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && !a.empty() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string UiSessions::open(const std::string& operator_name, const std::string& token_hash,
                             TimePoint now) {
  std::string id = random_secret();
  const std::string key = hash_token(id);
  std::lock_guard lock(mutex_);
  if (sessions_.size() >= capacity_) {
    const auto oldest = std::min_element(
        sessions_.begin(), sessions_.end(),
        [](const auto& a, const auto& b) { return a.second.expires_at < b.second.expires_at; });
    sessions_.erase(oldest);
  }
  sessions_[key] = UiSession{.operator_name = operator_name,
                             .token_hash = token_hash,
                             .csrf = random_secret(),
                             .expires_at = now + lifetime_};
  return id;
}

std::optional<UiSession> UiSessions::find(std::string_view id, TimePoint now) {
  const std::string key = hash_token(id);
  std::lock_guard lock(mutex_);
  const auto found = sessions_.find(key);
  if (found == sessions_.end()) {
    return std::nullopt;
  }
  if (now >= found->second.expires_at) {
    sessions_.erase(found);
    return std::nullopt;
  }
  return found->second;
}

void UiSessions::close(std::string_view id) {
  const std::string key = hash_token(id);
  std::lock_guard lock(mutex_);
  sessions_.erase(key);
}

}  // namespace vantage
