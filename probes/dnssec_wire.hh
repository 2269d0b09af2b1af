#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "result.hh"

// The DNSSEC parts of a DNS message: the RDATA of RRSIG, DS and DNSKEY records (RFC 4034) and the
// Extended DNS Errors among the EDNS options of an OPT record (RFC 8914). Each parser takes the
// RDATA of one record and says nullopt when it is malformed, so a garbled record never reads as a
// short one.
namespace vantage {

inline constexpr uint16_t kTypeOpt = 41;
inline constexpr uint16_t kTypeDs = 43;
inline constexpr uint16_t kTypeRrsig = 46;
inline constexpr uint16_t kTypeDnskey = 48;

// Where one record's RDATA is, within the message it came in (a name in it may point back).
struct Rdata {
  const unsigned char* message = nullptr;
  int message_length = 0;
  const unsigned char* data = nullptr;
  uint16_t length = 0;
};

std::optional<Signature> parse_rrsig(const std::string& owner, const Rdata& rdata);
std::optional<DelegationSigner> parse_ds(const std::string& owner, const Rdata& rdata);
std::optional<ZoneKey> parse_dnskey(const std::string& owner, const Rdata& rdata);

// The Extended DNS Errors among an OPT record's options, in order; other options are skipped.
std::optional<std::vector<ExtendedError>> parse_extended_errors(const Rdata& rdata);

// "signed by key 6331 (algorithm 13) of ok.test until 2026-12-27T10:57:21Z" for the signature
// over `type` among `details`' signatures ("…, expired 2020-02-01T00:00:00Z" or "…, not valid
// before …" at `now` when it does not hold), or "" when there is none: for a probe's detail.
std::string signature_summary(const DnsDetails& details, uint16_t type,
                              std::chrono::system_clock::time_point now);

// "DS for key 6331 (algorithm 13)", one per DS in `details`, or "" when there is none.
std::string delegation_signer_summary(const DnsDetails& details);

// "keys 6331 (algorithm 13), 2371 (algorithm 13, SEP)" for the DNSKEY records in `details`, or
// "no DNSKEY records".
std::string zone_key_summary(const DnsDetails& details);

// The failure class of a validating resolver's SERVFAIL that carries INFO-CODE `code`; nullopt
// for a code not about DNSSEC (a resolver also says "No Reachable Authority" or "Network Error").
std::optional<Failure> dnssec_failure_of(uint16_t code);

}  // namespace vantage
