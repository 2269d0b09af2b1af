#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "cycle_result.hh"
#include "result.hh"
#include "vocabulary.hh"

namespace vantage {

// A certificate or DNSSEC signature of the domain that expires soon, as its vantages saw it: a
// warning beside the verdict, never part of it.
struct ExpiryWarning {
  ExpiryKind kind = ExpiryKind::Certificate;
  std::string subject;  // "CN=social.example"; "key 6331 (algorithm 13) of social.example"
  std::chrono::sys_seconds expires{};
  std::vector<std::string> at;        // every address or nameserver a vantage saw it served at
  std::vector<std::string> vantages;  // the fresh vantages that saw it, by name
  std::string text;                   // as the first of them wrote it
  bool operator==(const ExpiryWarning&) const = default;
};

// A domain's verdict across vantages, as status, explain, metrics and alerts show it.
struct DomainState {
  std::string domain;
  Verdict verdict = Verdict::Unknown;
  Scope scope = Scope::None;
  std::chrono::system_clock::time_point since;
  int reporting = 0;  // vantages with a fresh reading
  int healthy = 0;    // usable: reporting, not isolated, and with an established reading
  int failing = 0;    // usable and not OK
  std::vector<std::string> affected_vantages;
  std::vector<int64_t> affected_asns;          // 0 for a vantage without a known ASN
  std::vector<std::string> affected_networks;  // "AS64510", "192.0.2.0/24": what scope counts
  std::vector<std::string> isolated_vantages;
  std::vector<std::string> establishing_vantages;  // reporting, but no reading established yet
  std::vector<std::string> stale_vantages;         // reported once, silent for too long since
  // The agreeing vantages' deciding probes first ("Tcp 203.0.113.80:443 ConnRefused from 3
  // vantages in AS64501, AS64502"), then the lines that back them, then other failed probes.
  std::vector<std::string> evidence;
  // What the fresh vantages saw expire within the target's warn_before, soonest first.
  std::vector<ExpiryWarning> expiring;
  bool operator==(const DomainState&) const = default;
};

}  // namespace vantage
