#pragma once

#include <optional>
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
// time anyone sees it. Throws std::invalid_argument for a bad name, StorageError if it cannot be
// stored.
std::string create_token(Storage& storage, const std::string& name, TokenKind kind);

// Who presented `token`, or nullopt if it is unknown. The lookup is by hash, and the stored hash
// is compared with the computed one in constant time, so neither step reveals how much of a
// guess was right. Throws StorageError.
std::optional<TokenRecord> verify_token(Storage& storage, std::string_view token);

}  // namespace vantage
