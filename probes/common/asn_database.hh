#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "network_info.hh"

namespace vantage {

// A MaxMind DB with autonomous_system_number per network (GeoLite2-ASN / GeoIP2-ISP layout),
// read with libmaxminddb. Lookups are safe from several threads (the database is mmapped and
// read-only).
class AsnDatabase {
 public:
  // Throws std::runtime_error naming the file and libmaxminddb's reason if it cannot be opened.
  explicit AsnDatabase(const std::string& path);
  ~AsnDatabase();
  AsnDatabase(const AsnDatabase&) = delete;
  AsnDatabase& operator=(const AsnDatabase&) = delete;

  // The ASN of the network holding `address` (an IPv4 or IPv6 literal); nullopt when the
  // address is not in the database, has no ASN, or is not an address.
  std::optional<int64_t> lookup(std::string_view address) const;
  // The network the database holds `address` in, as announced: "203.0.113.0/24"; nullopt when
  // the address is not in the database.
  std::optional<std::string> network(std::string_view address) const;
  // "autonomous_system_organization" of the network holding `address`, or "".
  std::string organization(std::string_view address) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The lookup a cycle's path trace uses: each address's AS and covering network from `database`;
// an empty lookup (no ASN data) when it is null.
NetworkLookup network_lookup(std::shared_ptr<const AsnDatabase> database);

}  // namespace vantage
