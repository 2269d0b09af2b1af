#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>

#include "storage.hh"

namespace vantage {

// Every token starts with this, so that one pasted into a log or a chat is recognisable (and
// secret scanners can be taught to find it).
inline constexpr std::string_view kTokenPrefix = "vat_";

// A new secret: the prefix and 32 random bytes from RAND_bytes, hex. Throws std::runtime_error if
// the random generator fails.
std::string generate_token();

// Lower-case hex SHA-256 of the token: what the store keeps instead of the token.
std::string hash_token(std::string_view token);

// 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit: the agent names of
// agent.yaml, and the names operator tokens are issued to.
bool is_valid_principal_name(std::string_view name);

// Creates a token for `name` of `kind`, stores its hash and returns the token itself: the only
// time anyone sees it. Throws std::invalid_argument for a bad name, TokenNameTaken if `name`
// has a token still accepted (a second secret for the same name would be one nobody knows to
// revoke), StorageError if it cannot be stored.
std::string create_token(Storage& storage, const std::string& name, TokenKind kind, TimePoint now);

class TokenNameTaken : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Thrown by rotate_token when `name` has no accepted token to replace.
class NoSuchToken : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct RotatedToken {
  std::string token;                  // the new secret, shown once
  TokenKind kind = TokenKind::Agent;  // that of the tokens it replaces
  size_t replaced = 0;                // tokens of the name that now end at `old_until`
  TimePoint old_until;
};

// A new secret for `name`, of the kind it has; its accepted tokens keep working for `grace`
// (one ending sooner keeps its end), so that the new one can be rolled out first. Throws
// NoSuchToken, StorageError.
RotatedToken rotate_token(Storage& storage, const std::string& name, std::chrono::seconds grace,
                          TimePoint now);

// Ends every token of `name` now. Returns how many were still accepted.
size_t revoke_tokens(Storage& storage, const std::string& name, TimePoint now);

// What a presented token is.
struct PresentedToken {
  std::optional<TokenRecord> accepted;  // who presented it, if it is accepted now
  std::optional<TokenRecord> ended;     // a known token that is revoked or past its grace
  bool first_refusal = false;           // `ended`, and the first time it was presented since
};

// Checks presented tokens for the API and the operator UI. The lookup is by hash, and the stored
// hash is compared with the computed one in constant time, so neither step reveals how much of a
// guess was right. Records when each token was last used, at most once a minute per token (an
// agent uploads every few seconds; a write per request would compete with the uploads).
class TokenVerifier {
 public:
  explicit TokenVerifier(Storage& storage) : storage_(storage) {}

  // Throws StorageError.
  PresentedToken verify(std::string_view token, TimePoint now);
  // Whether the token of that hash is still accepted (an operator UI session's token).
  bool accepted(const std::string& hash, TimePoint now);

 private:
  void note_use(const std::string& hash, TimePoint now);

  Storage& storage_;
  std::mutex mutex_;
  std::map<std::string, TimePoint> use_written_;  // by hash; guarded by mutex_
  std::set<std::string> refusals_seen_;           // hashes of ended tokens; guarded by mutex_
};

}  // namespace vantage
