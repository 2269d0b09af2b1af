#pragma once

#include <string>

#include "dns_recursive.hh"

namespace vantage {

// Asks one address of one delegated nameserver, without recursion, for the zone's DNSKEY set:
// the keys the parent's DS records must name. The cycle asks only when the parent holds a DS for
// the domain; the reading compares the two (a DS that names no key served breaks validation).
void probe_dns_keys(const DnsExchanger& exchange, const Endpoint& server,
                    const std::string& nameserver, const std::string& zone,
                    std::chrono::milliseconds timeout, ProbeDone done);

}  // namespace vantage
