#include "dns_recursive.hh"

#include <fmt/format.h>

#include "dns_message.hh"

namespace vantage {

void probe_dns_recursive(const DnsExchanger& exchange, const Endpoint& resolver,
                         const std::string& domain, uint16_t type,
                         std::chrono::milliseconds timeout, ProbeDone done) {
  DnsQuery query{domain, type, true, resolver, timeout};
  exchange(query, Check::DnsRecursive, [type, done = std::move(done)](ProbeResult result) {
    if (result.ok() && result.dns) {
      const size_t count = answer_addresses(result).size();
      result.detail = count == 0 ? fmt::format("NOERROR, no {} records", type_name(type))
                                 : fmt::format("NOERROR, {} {} record{}", count, type_name(type),
                                               count == 1 ? "" : "s");
    }
    done(std::move(result));
  });
}

std::vector<std::string> answer_addresses(const ProbeResult& result) {
  std::vector<std::string> addresses;
  if (!result.dns) {
    return addresses;
  }
  for (const auto& record : result.dns->answers) {
    if (record.type == kTypeA || record.type == kTypeAaaa) {
      addresses.push_back(record.data);
    }
  }
  return addresses;
}

}  // namespace vantage
