#include "dns_authoritative.hh"

#include <fmt/format.h>

#include "dns_message.hh"
#include "dnssec_wire.hh"

namespace vantage {

bool note_authority(ProbeResult& result, const std::string& nameserver) {
  result.subject += fmt::format(" @{}", nameserver);
  if (result.ok() && result.dns && !result.dns->authoritative) {
    result.failure = Failure::Lame;
    result.detail = "NOERROR without the AA flag: the server does not serve the zone";
  }
  return result.ok() && result.dns;
}

void probe_dns_authoritative(const DnsExchanger& exchange, const Endpoint& server,
                             const std::string& nameserver, const std::string& domain,
                             uint16_t type, std::chrono::milliseconds timeout, ProbeDone done) {
  DnsQuery query{domain, type, false, server, timeout};
  exchange(query, Check::DnsAuthoritative,
           [nameserver, type, done = std::move(done)](ProbeResult result) {
             if (note_authority(result, nameserver)) {
               const size_t count = answer_addresses(result).size();
               result.detail = fmt::format("authoritative, {} {} record{}", count, type_name(type),
                                           count == 1 ? "" : "s");
               if (const auto signature =
                       signature_summary(*result.dns, type, std::chrono::system_clock::now());
                   !signature.empty()) {
                 result.detail += ", " + signature;
               }
             }
             done(std::move(result));
           });
}

}  // namespace vantage
