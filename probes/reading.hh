#pragma once

#include "cycle.hh"

namespace vantage {

// This vantage's reading of one cycle, walking the layers bottom up: its own uplink (control
// targets), the delegation, the routes to the domain's networks, authoritative and recursive DNS,
// then TCP, TLS and HTTP. A layer counts as failed when none of its probes succeeded; failures
// that leave some probes of a layer working become warnings, not the verdict.
Reading read_cycle(const CycleResult& cycle);

// One line of evidence for a result: "DnsAuthoritative 192.0.2.53:53 social.test A: NetUnreachable
// (errno 101, Network is unreachable)".
std::string describe(const ProbeResult& result);

}  // namespace vantage
