#include "dns_keys.hh"

#include <fmt/format.h>

#include "dns_authoritative.hh"
#include "dnssec_wire.hh"

namespace vantage {

void probe_dns_keys(const DnsExchanger& exchange, const Endpoint& server,
                    const std::string& nameserver, const std::string& zone,
                    std::chrono::milliseconds timeout, ProbeDone done) {
  DnsQuery query{zone, kTypeDnskey, false, server, timeout};
  exchange(query, Check::DnsKeys, [nameserver, done = std::move(done)](ProbeResult result) {
    if (note_authority(result, nameserver)) {
      result.detail = zone_key_summary(*result.dns);
    }
    done(std::move(result));
  });
}

}  // namespace vantage
