#include "support/zone.hh"

namespace vantage::testing {

std::string zone_text(const Zone& zone) {
  const std::string ttl = std::to_string(zone.ttl);
  std::string text = "$TTL " + ttl + "\n";
  text += zone.origin + " IN SOA " + zone.primary_ns + " hostmaster.test. 1 3600 600 86400 " + ttl +
          "\n";
  for (const auto& record : zone.records) {
    text += record.owner + " IN " + record.type + " " + record.data + "\n";
  }
  return text;
}

}  // namespace vantage::testing
