#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "result.hh"

namespace vantage {

inline constexpr uint16_t kTypeA = 1;
inline constexpr uint16_t kTypeNs = 2;
inline constexpr uint16_t kTypeCname = 5;
inline constexpr uint16_t kTypeSoa = 6;
inline constexpr uint16_t kTypeAaaa = 28;

// The EDNS UDP payload size every query offers (the DNS flag day 2020 value): signed answers
// exceed the 512 bytes of plain DNS.
inline constexpr int kEdnsPayloadSize = 1232;

std::string type_name(uint16_t type);

// A wire-format query for `name`/`type` (class IN) with EDNS (a 1232-byte buffer) and the DO flag,
// so a signed zone answers with its RRSIGs and a validating resolver says whether it validated
// (AD) or why not (Extended DNS Errors); recursion_desired=false for questions put straight to
// an authoritative server. Empty on a name c-ares cannot encode.
std::vector<unsigned char> build_query(const std::string& name, uint16_t type,
                                       bool recursion_desired);

// Parses a response into header flags, the three record sections, its Extended DNS Errors and
// its DNSSEC records. nullopt when the message, or any record in it, is malformed.
std::optional<DnsDetails> parse_response(const unsigned char* message, int length);

// The addresses (A and AAAA data) of `records` owned by `owner` (case-insensitive), in order.
std::vector<std::string> addresses_of(const std::vector<DnsRecord>& records,
                                      const std::string& owner);

// Case-insensitive comparison of DNS names, ignoring one trailing dot.
bool same_name(const std::string& a, const std::string& b);

}  // namespace vantage
