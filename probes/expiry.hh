#pragma once

#include <chrono>
#include <vector>

#include "cycle_result.hh"
#include "target.hh"

namespace vantage {

// What of the cycle's certificates and DNSSEC signatures expires within `warn_before` of `now`,
// soonest first. Certificates: per address, the leaf or the certificate of its verified chain
// that expires first; addresses serving the same one are one warning, which names them and how
// many addresses served a certificate at all, so that one node not renewed stands out.
// Signatures: per nameserver, the earliest expiration of the RRSIGs over its answers, grouped by
// signing key, once half their validity has passed (an online signer's are always fresh).
std::vector<Expiry> expiring(const CycleResult& cycle, const ExpiryThresholds& warn_before,
                             std::chrono::system_clock::time_point now);

// "in 3 days", "in 5 hours", "in 40 minutes"; "2 hours ago" once past.
std::string time_left(std::chrono::system_clock::duration left);

}  // namespace vantage
