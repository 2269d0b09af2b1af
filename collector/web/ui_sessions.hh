#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "storage.hh"

// Operator sessions of the web UI. An operator logs in once with an operator token (a form POST,
// never a URL), and the browser then holds only a random session id in an HttpOnly cookie. Each
// session has its own CSRF token, which every form of the UI carries back. Sessions live in the
// collector's memory: a restart logs everyone out, which costs a login and leaks nothing.
namespace vantage {

struct UiSession {
  std::string operator_name;
  std::string token_hash;  // of the operator token it was opened with: checked on every request
  std::string csrf;        // the forms' hidden field
  TimePoint expires_at;
};

class UiSessions {
 public:
  // A session lasts `lifetime` from its login, however active; at most `capacity` are open (the
  // oldest goes first), so logins cannot fill the collector's memory.
  UiSessions(std::chrono::milliseconds lifetime, size_t capacity)
      : lifetime_(lifetime), capacity_(capacity) {}

  // Opens a session; returns its id (the cookie's value).
  std::string open(const std::string& operator_name, const std::string& token_hash, TimePoint now);
  // The session of that id, unless it expired (then it is closed).
  std::optional<UiSession> find(std::string_view id, TimePoint now);
  void close(std::string_view id);
  std::chrono::milliseconds lifetime() const { return lifetime_; }

 private:
  const std::chrono::milliseconds lifetime_;
  const size_t capacity_;
  std::mutex mutex_;
  // By the SHA-256 of the id, like tokens: looking one up reveals nothing of the others' ids.
  std::map<std::string, UiSession> sessions_;
};

// 32 random bytes from OpenSSL's CSPRNG, as 64 hex digits.
std::string random_secret();
// Compares two secrets in time that does not depend on where they differ.
bool same_secret(std::string_view a, std::string_view b);

}  // namespace vantage
