#pragma once

#include <functional>
#include <string>
#include <vector>

#include "cycle.hh"
#include "dns_recursive.hh"

namespace vantage {

struct DelegationOutcome {
  std::string parent_zone;                         // "test." ; empty when it could not be found
  std::vector<ProbeResult> results;                // one DnsParent result per parent server asked
  std::vector<LastKnown::Nameserver> nameservers;  // the delegation, with glue or resolved
};

// Finds the parent zone of `domain` through the recursive resolvers, asks up to four of its
// servers directly (RD=0) for the domain's NS, and resolves the delegated nameservers' addresses
// (glue first). The parent's NXDOMAIN is the "domain vanished" evidence.
void probe_delegation(const DnsExchanger& exchange, const std::vector<Endpoint>& resolvers,
                      const std::string& domain, std::chrono::milliseconds timeout,
                      std::function<void(DelegationOutcome)> done);

// "social.test" -> "test", "test" -> ".", "." -> "".
std::string parent_of(const std::string& name);

}  // namespace vantage
