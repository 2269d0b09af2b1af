#pragma once

#include <chrono>
#include <string>
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

struct Reading {
  Verdict verdict = Verdict::Ok;
  std::string summary;                // one line for humans
  std::vector<std::string> evidence;  // one line per fact that decided the verdict
  std::vector<std::string> warnings;  // failures that did not decide it (one address of many)
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
