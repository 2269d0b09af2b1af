#include "dns_keys.hh"

#include <fmt/format.h>

#include "dnssec_wire.hh"

namespace vantage {

std::string zone_key_summary(const DnsDetails& details) {
  if (details.zone_keys.empty()) {
    return "no DNSKEY records";
  }
  // Flags bit 15 (value 1): Secure Entry Point, the key a DS usually names (RFC 4034 2.1.1).
  constexpr uint16_t kSecureEntryPoint = 1;
  std::string text = details.zone_keys.size() == 1 ? "key " : "keys ";
  for (const ZoneKey& key : details.zone_keys) {
    text += fmt::format("{}{} (algorithm {}{})", &key == &details.zone_keys.front() ? "" : ", ",
                        key.key_tag, key.algorithm,
                        (key.flags & kSecureEntryPoint) != 0 ? ", SEP" : "");
  }
  return text;
}

void probe_dns_keys(const DnsExchanger& exchange, const Endpoint& server,
                    const std::string& nameserver, const std::string& zone,
                    std::chrono::milliseconds timeout, ProbeDone done) {
  DnsQuery query{zone, kTypeDnskey, false, server, timeout};
  exchange(query, Check::DnsKeys, [nameserver, done = std::move(done)](ProbeResult result) {
    result.subject += fmt::format(" @{}", nameserver);
    if (result.ok() && result.dns && !result.dns->authoritative) {
      result.failure = Failure::Lame;
      result.detail = "NOERROR without the AA flag: the server does not serve the zone";
    } else if (result.ok() && result.dns) {
      result.detail = zone_key_summary(*result.dns);
    }
    done(std::move(result));
  });
}

}  // namespace vantage
