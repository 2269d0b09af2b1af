#pragma once

#include <chrono>
#include <filesystem>
#include <string>

// DNSSEC for the labs' zones, with Debian's ldnsutils: a key per zone, the zone signed with it
// for a chosen time, and the DS record its parent publishes.
namespace vantage::testing {

struct SigningKey {
  std::string zone;            // "social.test."
  std::filesystem::path base;  // ".../Ksocial.test.+013+06331": the .key and .private beside it
  std::string ds;              // the DS RDATA for the parent zone: "6331 13 2 d8d6…"
  int key_tag = 0;
};

// When the signatures of a zone hold.
struct SignatureWindow {
  std::chrono::system_clock::time_point inception;
  std::chrono::system_clock::time_point expiration;
};

// An hour ago to four weeks ahead: how a zone is signed when nothing is wrong with it.
SignatureWindow valid_signatures();

// A new ECDSA P-256 key with the SEP flag (one key signs the whole zone) for `zone`, in `dir`.
// Throws std::runtime_error, quoting ldns-keygen, on failure.
SigningKey make_signing_key(const std::filesystem::path& dir, const std::string& zone);

// Signs the zone in `zonefile` with `key` into `signed_file` (NSEC, not NSEC3). Throws
// std::runtime_error, quoting ldns-signzone, on failure.
void sign_zone(const std::filesystem::path& zonefile, const std::filesystem::path& signed_file,
               const SigningKey& key, SignatureWindow window);

// Whether ldnsutils is installed.
bool can_sign_zones();

}  // namespace vantage::testing
