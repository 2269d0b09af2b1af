#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vantage::testing {

struct ZoneRecord {
  std::string owner;  // absolute: "social.test."
  std::string type;   // "A", "AAAA", "NS", ...
  std::string data;   // presentation format: "192.0.2.10", "ns1.social.test."
};

// A master file's worth of zone. The SOA is generated from `origin` and `primary_ns`; its minimum
// (the negative-caching TTL) equals `ttl`, kept short so a resolver restarted between scenarios
// never answers from an old negative answer.
struct Zone {
  std::string origin;      // "test.", "." for the root
  std::string primary_ns;  // "ns.test."
  uint32_t ttl = 30;
  std::vector<ZoneRecord> records;  // the SOA excluded
};

std::string zone_text(const Zone& zone);

}  // namespace vantage::testing
