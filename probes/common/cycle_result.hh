#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "result.hh"

// What one cycle found for one domain: the document an agent uploads and the collector reads.
namespace vantage {

struct LastKnown {
  std::vector<std::string> addresses;  // IP literals of the domain
  struct Nameserver {
    std::string name;
    std::vector<std::string> addresses;
  };
  std::vector<Nameserver> nameservers;
};

// A certificate or DNSSEC signature a cycle saw expire within its target's warn_before: a warning
// beside the verdict, never a verdict of its own (an expired certificate fails the TLS probe and
// expired signatures fail validation: those are verdicts).
enum class ExpiryKind : uint8_t { Certificate, Signature };
std::string_view to_string(ExpiryKind kind);  // "certificate", "signature"
std::optional<ExpiryKind> expiry_kind_from_string(std::string_view text);

struct Expiry {
  ExpiryKind kind = ExpiryKind::Certificate;
  // The certificate's subject ("CN=social.example"), or the signing key ("key 6331 (algorithm 13)
  // of social.example").
  std::string subject;
  std::chrono::sys_seconds expires{};
  // Where it is served: addresses ("203.0.113.80:443") or nameservers ("192.0.2.53:53")...
  std::vector<std::string> at;
  int of = 0;        // ...of how many that showed one of its kind: fewer is one node not renewed
  std::string text;  // the warning, as status and explain show it
  bool operator==(const Expiry&) const = default;
};

struct Reading {
  Verdict verdict = Verdict::Ok;
  std::string summary;                // one line for humans
  std::vector<std::string> evidence;  // one line per fact that decided the verdict
  std::vector<std::string> warnings;  // failures that did not decide it (one address of many)
  std::vector<Expiry> expiring;       // what expires within the target's warn_before, soonest first
};

struct CycleResult {
  std::string domain;
  std::chrono::system_clock::time_point started_at;
  std::chrono::microseconds duration{0};
  std::vector<ProbeResult> results;
  std::vector<std::string> recursive_addresses;      // what the resolvers answered
  std::vector<std::string> authoritative_addresses;  // what the authoritative servers answered
  std::vector<LastKnown::Nameserver> nameservers;    // as delegated by the parent
  LastKnown last_known_used;                         // what the cycle was handed
  Reading reading;

  // What the next cycle should remember: this cycle's addresses and nameservers when it found
  // any, else what it was handed.
  LastKnown next_last_known() const;
};

// The shared machinery cycles run on: one loop, one curl multi handle, one c-ares library init
// and one bound on concurrent probes. Create one per process.

}  // namespace vantage
