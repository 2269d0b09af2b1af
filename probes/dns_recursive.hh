#pragma once

#include <string>

#include "ares_driver.hh"

namespace vantage {

// How DNS probes send one query: the cycle passes one that goes through the engine's bound on
// concurrent probes; tests may pass dns_exchange itself.
using DnsExchanger = std::function<void(const DnsQuery&, Check, ProbeDone)>;

// A or AAAA for `domain` through one recursive resolver. NOERROR with no records of the type is
// not a failure on its own (many domains have no AAAA); the reading looks at both types.
void probe_dns_recursive(const DnsExchanger& exchange, const Endpoint& resolver,
                         const std::string& domain, uint16_t type,
                         std::chrono::milliseconds timeout, ProbeDone done);

// The A/AAAA answers of a DNS result, in order, whatever their owner (CNAME chains included).
std::vector<std::string> answer_addresses(const ProbeResult& result);

}  // namespace vantage
