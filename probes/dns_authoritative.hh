#pragma once

#include <string>

#include "dns_recursive.hh"

namespace vantage {

// Names the nameserver in `result`'s subject and marks a NOERROR without the AA flag as Lame.
// Whether the result is an authoritative answer.
bool note_authority(ProbeResult& result, const std::string& nameserver);

// Asks one address of one delegated nameserver, without recursion, for `domain`'s A or AAAA.
// A NOERROR answer without the AA flag is a lame delegation: the server does not serve the zone.
void probe_dns_authoritative(const DnsExchanger& exchange, const Endpoint& server,
                             const std::string& nameserver, const std::string& domain,
                             uint16_t type, std::chrono::milliseconds timeout, ProbeDone done);

}  // namespace vantage
